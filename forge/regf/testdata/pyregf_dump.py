# Dumps a hive through libregf's Python binding (Debian python3-libregf):
# one JSON line per key, depth first in the order libregf lists subkeys,
# with the key's 64-bit last-written FILETIME, class name and every value's
# name, type and data (hex), so Go tests can compare them field by field.
import json
import sys

import pyregf


def dump(key, path, out):
    values = []
    for i in range(key.number_of_values):
        v = key.get_value(i)
        data = v.data
        values.append([v.name or "", v.type, (data or b"").hex()])
    out.write(json.dumps({
        "path": path,
        "last_written": key.get_last_written_time_as_integer(),
        "class": key.class_name or "",
        "subkeys": key.number_of_sub_keys,
        "values": values,
    }) + "\n")
    for i in range(key.number_of_sub_keys):
        sk = key.get_sub_key(i)
        dump(sk, path + "\\" + sk.name, out)


f = pyregf.file()
f.open(sys.argv[1])
root = f.get_root_key()
print(json.dumps({"format_version": f.format_version, "type": f.type}))
sys.setrecursionlimit(5000)
dump(root, root.name, sys.stdout)
f.close()
