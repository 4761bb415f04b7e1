# Walks a hive with libregf (libregf-utils' library, via ctypes) and prints one JSON
# line per key: path, last-written FILETIME, number of values. regfexport
# does not print key times, so the differential test asks the library.
import ctypes, json, sys
lib = ctypes.CDLL("libregf.so.1")
P = ctypes.c_void_p
def chk(rc, what):
    if rc != 1:
        raise SystemExit("libregf %s failed rc=%d" % (what, rc))
f = P(); err = P()
chk(lib.libregf_file_initialize(ctypes.byref(f), ctypes.byref(err)), "init")
chk(lib.libregf_file_open(f, sys.argv[1].encode(), 1, ctypes.byref(err)), "open")
root = P()
rc = lib.libregf_file_get_root_key(f, ctypes.byref(root), ctypes.byref(err))
if rc != 1:
    sys.exit(0)
def name(k):
    sz = ctypes.c_size_t()
    if lib.libregf_key_get_utf16_name_size(k, ctypes.byref(sz), ctypes.byref(err)) != 1:
        return None
    buf = (ctypes.c_uint16 * max(sz.value, 1))()
    if lib.libregf_key_get_utf16_name(k, buf, sz, ctypes.byref(err)) != 1:
        return None
    return bytes(bytearray(ctypes.string_at(buf, 2 * sz.value))).decode("utf-16-le", "surrogatepass").rstrip("\x00")
def walk(k, path, depth):
    ft = ctypes.c_uint64()
    lib.libregf_key_get_last_written_time(k, ctypes.byref(ft), ctypes.byref(err))
    nv = ctypes.c_int()
    lib.libregf_key_get_number_of_values(k, ctypes.byref(nv), ctypes.byref(err))
    n = name(k)
    p = n if path is None else path + "\\" + (n if n is not None else "?")
    sys.stdout.write(json.dumps([p, ft.value, nv.value], ensure_ascii=True) + "\n")
    ns = ctypes.c_int()
    if lib.libregf_key_get_number_of_sub_keys(k, ctypes.byref(ns), ctypes.byref(err)) != 1 or depth > 512:
        return
    for i in range(ns.value):
        sk = P()
        if lib.libregf_key_get_sub_key(k, i, ctypes.byref(sk), ctypes.byref(err)) == 1:
            walk(sk, p, depth + 1)
            lib.libregf_key_free(ctypes.byref(sk), ctypes.byref(err))
sys.setrecursionlimit(5000)
walk(root, None, 0)
