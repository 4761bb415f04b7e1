#!/usr/bin/env bash
# build.sh - regenerate the committed NTFS test images in testdata/images.
#
# GENERATED FIXTURES: everything in this directory except build.sh,
# README.md and manifests/ is written by this script.  Do not edit by hand.
#
# Usage (from anywhere; needs root, /dev/fuse, unshare):
#   sudo testdata/images/build.sh [-k]
#     -k  keep the scratch directory
#
# Needs: ntfs-3g, libfaketime + faketime, python3, fdisk (sfdisk),
# util-linux (unshare, mountpoint), sleuthkit, qemu-utils, ewf-tools,
# dosfstools (mkfs.vfat), mtools (mcopy), bzip2, tar (GNU).
#
# Determinism: mkntfs-image pins the clock per manifest line; ewfacquire,
# mkfs.vfat, mcopy and qemu-img run under a fixed faketime clock; qemu-img
# draws VMDK CIDs and VHDX/VHD GUIDs from glib's random generator, which
# seeds itself from /dev/urandom, so image-containers runs in a private mount
# namespace where /dev/urandom is a constant file.  tar is run with a fixed
# mtime, owner and member order.  Two consecutive runs gave identical
# SHA256SUMS and identical .bz2 files (see README.md).
set -euo pipefail
export TZ=UTC LC_ALL=C
umask 022

KEEP=0
[[ ${1:-} == -k ]] && KEEP=1

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd -- "$HERE/../.." && pwd)
cd -- "$REPO"
OUTDIR=testdata/images
MKNTFS=../shared/tools/mkntfs-image
CONTAINERS=../shared/tools/image-containers
CLOCK="2024-01-01 00:00:00"    # acquisition / container creation clock

die()  { printf 'build.sh: %s\n' "$*" >&2; exit 1; }
note() { printf '== %s\n' "$*" >&2; }

((EUID == 0)) || die "needs root (FUSE mounts, mount namespace)"
for t in "$MKNTFS" "$CONTAINERS"; do [[ -x $t ]] || die "missing $t (run from the Foothold checkout)"; done
for t in mmls fls istat usnjls img_cat ewfacquire ewfexport qemu-img faketime sfdisk \
         mkfs.vfat mcopy unshare bzip2 tar sha256sum python3; do
    command -v "$t" >/dev/null || die "required tool not found: $t"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/foothold-images.XXXXXX")
if ((KEEP)); then note "scratch: $WORK"; else trap 'rm -rf -- "$WORK"' EXIT; fi
STAGE=$WORK/stage          # uncompressed tree, same layout testimg.Path uses
mkdir -p "$STAGE"

# ------------------------------------------------------------------ helpers
# fat_volume FILE SIZE_MIB FATBITS LABEL HIDDEN: a FAT volume holding one
# small file, reproducible: --invariant fixes the volume id (0x1234ABCD) and
# the boot-sector fields mkfs.vfat would otherwise randomise; the clock is
# fixed for the root entries and mcopy.
fat_volume() {
    local file=$1 mib=$2 bits=$3 label=$4 hidden=$5
    rm -f -- "$file"
    truncate -s "${mib}M" "$file"
    faketime -f "$CLOCK" mkfs.vfat -F "$bits" -s 1 -S 512 -h "$hidden" -n "$label" \
        --invariant "$file" >/dev/null
    printf 'this partition is FAT%s, not NTFS\r\n' "$bits" > "$WORK/fatnote.txt"
    touch -d "2020-01-01 00:00:00" "$WORK/fatnote.txt"
    MTOOLS_SKIP_CHECK=1 faketime -f "$CLOCK" mcopy -m -i "$file" "$WORK/fatnote.txt" ::/README.TXT
}

# containers RAW: every container format via image-containers into
# $WORK/containers/NAME, with a constant /dev/urandom and a fixed clock so
# qemu-img's identifiers are reproducible.
containers() {
    local raw=$1 name
    name=$(basename -- "$raw" .raw)
    head -c 4096 /dev/zero | tr '\0' 'F' > "$WORK/urandom"
    unshare -m --propagation private bash -c '
        mount --bind "$1" /dev/urandom && faketime -f "$2" "${@:3}"' _ "$WORK/urandom" "$CLOCK" \
        "$CONTAINERS" -t "$CLOCK" "$raw" "$WORK/containers/$name" >&2
}

# take NAME FORMAT SRC...: copy container files into stage/NAME/FORMAT,
# renaming single-file sets to NAME.<ext> (e.g. NAME-fixed.vhdx -> NAME.vhdx).
take() {
    local name=$1 format=$2 src
    shift 2
    mkdir -p "$STAGE/$name/$format"
    for src in "$@"; do
        local base=${src##*/}
        case $base in
            "$name"-fixed.* | "$name"-dynamic.*) base=$name.${base##*.} ;;
        esac
        cp --sparse=always -- "$src" "$STAGE/$name/$format/$base"
    done
}

# reference NAME OFFSET: TSK ground truth committed beside the images.
reference() {
    local name=$1 off=$2 raw=$STAGE/$1.raw
    local o=()
    [[ $off == 0 ]] || o=(-o "$off")
    if [[ $off != 0 ]]; then mmls "$raw" > "$OUTDIR/$name.mmls.txt"; fi
    fls "${o[@]}" -r -m C: "$raw" > "$OUTDIR/$name.fls.body"
    if usnjls "${o[@]}" "$raw" > "$WORK/usn.txt" 2>/dev/null && [[ -s $WORK/usn.txt ]]; then
        usnjls "${o[@]}" -l "$raw" > "$OUTDIR/$name.usnjls.txt"
    fi
}

# -------------------------------------------------------------- host1
note "host1"
"$MKNTFS" -f testdata/images/manifests/host1.manifest "$STAGE/host1.raw"
reference host1 2048
{
    for e in 76 82 83 84 85 86 88 89 91 92; do
        echo "===== istat -o 2048 host1.raw $e"
        istat -o 2048 "$STAGE/host1.raw" "$e"
    done
} > "$OUTDIR/host1.istat.txt"
containers "$STAGE/host1.raw"
C=$WORK/containers/host1
for f in e01 e01-split split vmdk-monolithicSparse vmdk-monolithicFlat \
         vmdk-twoGbMaxExtentSparse vmdk-twoGbMaxExtentFlat vmdk-streamOptimized; do
    take host1 "$f" "$C/$f"/*
done
for k in fixed dynamic; do
    take host1 "vhdx-$k" "$C/host1-$k.vhdx"
    take host1 "vhd-$k" "$C/host1-$k.vhd"
done

# -------------------------------------------------------------- ewfseg (D1)
note "ewfseg"
mkdir -p "$WORK/ewfseg"
cp testdata/images/manifests/ewfseg.manifest "$WORK/ewfseg/"
python3 - "$WORK/ewfseg/blob.bin" <<'EOF'
import hashlib, sys
base = b''.join(hashlib.sha256(b'ewfseg:%d' % i).digest() for i in range(1024))  # 32 KiB
out = bytearray()
for j in range(896):                       # 896 x 4 KiB = 3.5 MiB
    block = bytearray(base[(j % 8) * 4096:(j % 8 + 1) * 4096])
    block[0:16] = b'blk%08d\r\n\0\0\0' % j
    out += block
open(sys.argv[1], 'wb').write(out)
EOF
"$MKNTFS" -f "$WORK/ewfseg/ewfseg.manifest" "$STAGE/ewfseg.raw"
reference ewfseg 2048
for fmt in smart ewf; do
    mkdir -p "$STAGE/ewfseg/e01-$fmt"
    faketime -f "$CLOCK" ewfacquire -u -q -t "$STAGE/ewfseg/e01-$fmt/ewfseg" -f "$fmt" -S 1MiB \
        -C case -D ewfseg -e examiner -E evidence -N "test image" "$STAGE/ewfseg.raw" >/dev/null
    first=$(ls "$STAGE/ewfseg/e01-$fmt" | sort | head -n 1)
    ewfexport -u -q -f raw -t "$WORK/back" "$STAGE/ewfseg/e01-$fmt/$first" >/dev/null
    cmp "$WORK/back.raw" "$STAGE/ewfseg.raw" || die "ewfseg e01-$fmt: ewfexport differs"
    img_cat -i ewf "$STAGE/ewfseg/e01-$fmt/$first" | cmp - "$STAGE/ewfseg.raw" \
        || die "ewfseg e01-$fmt: img_cat differs"
    rm -f "$WORK/back.raw" "$WORK/back.raw.info"
    note "ewfseg e01-$fmt: ewfexport and img_cat identical"
done

# -------------------------------------------------------------- gpt2
# Partition 1 NTFS (mkntfs-image); partition 2 FAT32 appended here.
note "gpt2"
"$MKNTFS" -f testdata/images/manifests/gpt2.manifest "$WORK/gpt2.raw"
fat_volume "$WORK/fat32.img" 33 32 GPT2FAT32 18432
printf '%s\n' 'start=18432, size=67584, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7, uuid=6A1D2C3B-0002-4000-8000-475054324453, name="FAT32 data"' \
    | sfdisk -q --append --no-reread --no-tell-kernel --wipe never --wipe-partitions never "$WORK/gpt2.raw" >&2
dd if="$WORK/fat32.img" of="$WORK/gpt2.raw" bs=512 seek=18432 conv=notrunc,sparse status=none
mv "$WORK/gpt2.raw" "$STAGE/gpt2.raw"
reference gpt2 2048
containers "$STAGE/gpt2.raw"
take gpt2 vhdx-dynamic "$WORK/containers/gpt2/gpt2-dynamic.vhdx"

# -------------------------------------------------------------- ext3
# FAT16 primary, extended partition with logical NTFS (5) and logical 0x83 (6).
note "ext3"
"$MKNTFS" -f testdata/images/manifests/ext3.manifest "$WORK/ext3.raw"
fat_volume "$WORK/fat16.img" 4 16 EXT3FAT16 2048
sfdisk -q --no-reread --no-tell-kernel --wipe never --wipe-partitions never "$WORK/ext3.raw" >&2 <<'EOF'
label: dos
label-id: 0x45585433
unit: sectors
start=2048, size=8192, type=6
start=10240, size=18432, type=5
start=12288, size=12288, type=7
start=26624, size=2048, type=83
EOF
dd if="$WORK/fat16.img" of="$WORK/ext3.raw" bs=512 seek=2048 conv=notrunc,sparse status=none
mv "$WORK/ext3.raw" "$STAGE/ext3.raw"
reference ext3 12288
containers "$STAGE/ext3.raw"
take ext3 e01 "$WORK/containers/ext3/e01"/*

# -------------------------------------------------------------- bare4
note "bare4"
"$MKNTFS" -f testdata/images/manifests/bare4.manifest "$STAGE/bare4.raw"
reference bare4 0

# -------------------------------------------------------------- package
note "packaging"
(cd "$STAGE" && find . -type f | sed 's|^\./||' | sort | xargs sha256sum) > "$OUTDIR/SHA256SUMS"
rm -rf -- "$OUTDIR"/*.raw.bz2 "$OUTDIR"/host1 "$OUTDIR"/ewfseg "$OUTDIR"/gpt2 "$OUTDIR"/ext3 "$OUTDIR"/bare4
for raw in "$STAGE"/*.raw; do
    bzip2 -9 -c -- "$raw" > "$OUTDIR/${raw##*/}.bz2"
done
for dir in "$STAGE"/*/*/; do
    dir=${dir%/}
    rel=${dir#"$STAGE"/}
    mkdir -p "$OUTDIR/${rel%/*}"
    (cd "$dir" && find . -type f | sed 's|^\./||' | sort) > "$WORK/members"
    tar -C "$dir" --format=ustar --mtime=@0 --owner=0 --group=0 --numeric-owner \
        -cf - -T "$WORK/members" | bzip2 -9 > "$OUTDIR/$rel.tar.bz2"
done
note "done: $(du -cb "$OUTDIR"/*.bz2 "$OUTDIR"/*/*.tar.bz2 | tail -n 1 | cut -f1) bytes compressed"
