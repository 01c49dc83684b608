import sys
src, dst, *drop = sys.argv[1:]
text = open(src).read().split('\n')
header, body = text[0], text[1:]
entries, cur, trailer = [], None, []
for line in body:
    if line.startswith('@@@'):
        cur = [line]; entries.append(cur)
    elif line.startswith('*** END'):
        trailer = [line]; cur = None
    elif cur is not None:
        cur.append(line)
kept = [e for e in entries if not any(e[1] == 'MethodName: ' + d for d in drop)]
open(dst, 'w').write('\n'.join([header] + [l for e in kept for l in e] + trailer) + '\n')
print(dst, len(entries), '->', len(kept))
