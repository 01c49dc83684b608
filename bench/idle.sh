# Sourced by the bench scripts that run a NetStack server beside another server or beside the generator
# on this 2-core machine: idle IOKernel and carrier threads yield at once and park after 2 ms, so a server
# that is not being measured takes nothing from the one that is. One definition, so the scripts agree.
# shellcheck disable=SC2034 # used by the script that sources this file
idle="--NetStack:IOKernelIdle SpinPark --NetStack:CarrierIdle SpinPark --NetStack:IdleSpinMicros 0 --NetStack:IdleYieldMicros 2000 --NetStack:IdleParkMicros 200"
