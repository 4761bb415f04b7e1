package ese

import (
	"encoding/binary"
	"math/bits"
)

// headerChecksum is the checksum of the database header page (and its
// shadow copy): an XOR of every 32-bit word after the checksum itself,
// seeded with the signature value. Header pages keep this old scheme in
// every format revision.
func headerChecksum(page []byte) uint32 {
	x := uint32(0x89abcdef)
	for i := 4; i+4 <= len(page); i += 4 {
		x ^= binary.LittleEndian.Uint32(page[i:])
	}
	return x
}

// pageChecksums computes the two 32-bit checksums of a database page in
// the "new record format" (format revision 0x0b and later, page flag
// 0x2000), as stored in the first 8 bytes of a 4 or 8 KiB page:
//
//   - xor: the XOR of every 32-bit word from offset 8 on, seeded with the
//     page number, so a page read from the wrong place fails;
//   - ecc: an error-correcting code. Each 16-byte block whose words XOR to
//     an odd-parity value flips a block-specific mask (upper bits count
//     the block up, the next bits count it down); the parities of pairs of
//     word columns and the position of each set bit in the page-wide XOR
//     fill the low bits. Together they locate any single flipped bit.
//
// The checksum words themselves (offset 0 to 8) are not covered.
func pageChecksums(page []byte, pgno uint32) (xor, ecc uint32) {
	var col [4]uint32 // XOR of the words in each 4-byte column of a 16-byte block
	mask := uint32(0xff800000)
	var block uint32 // XOR of the words of the current 16-byte block
	for off := 8; off+4 <= len(page); off += 4 {
		w := binary.LittleEndian.Uint32(page[off:])
		col[(off/4)%4] ^= w
		block ^= w
		if off%16 == 12 { // block complete
			if parity(block) {
				ecc ^= mask
			}
			mask -= 0x007fff80
			block = 0
		}
	}
	if block != 0 && parity(block) {
		ecc ^= mask
	}
	if parity(col[0] ^ col[1]) {
		ecc ^= 0x00400000
	}
	if parity(col[0] ^ col[2]) {
		ecc ^= 0x00200000
	}
	if parity(col[1] ^ col[3]) {
		ecc ^= 0x00000020
	}
	if parity(col[2] ^ col[3]) {
		ecc ^= 0x00000040
	}
	all := col[0] ^ col[1] ^ col[2] ^ col[3]
	// Each set bit of the page-wide XOR contributes its position, counted
	// up in the high half-word and down in the low half-word.
	var pos uint32
	m := uint32(0xffff0000)
	for b := 0; b < 32; b++ {
		if all&(1<<b) != 0 {
			pos ^= m
		}
		m -= 0x0000ffff
	}
	if len(page) < 8192 {
		// Small pages need fewer block-number bits; the unused one is
		// cleared.
		ecc &^= uint32(len(page)) << 19
	}
	ecc = ecc&^0x001f001f | pos&0x001f001f
	return pgno ^ all, ecc
}

func parity(v uint32) bool { return bits.OnesCount32(v)&1 == 1 }
