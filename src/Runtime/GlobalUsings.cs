// Namespaces every Runtime file uses.
global using System.Diagnostics.CodeAnalysis;
global using System.Numerics;
