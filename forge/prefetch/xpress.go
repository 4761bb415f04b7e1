package prefetch

import (
	"encoding/binary"
	"sort"
)

// LZXPRESS Huffman ([MS-XCA] 2.1): LZ77 tokens coded with a canonical
// Huffman code over 512 symbols (256 literals, 256 match classes), one
// code-length table per 64 KiB of output.
//
// Matches stay inside their 64 KiB block, neither reaching back before it
// nor running past its end, because decoders (go-prefetch among them)
// restart their state at every block.

const (
	blockSize   = 1 << 16
	minMatch    = 3
	maxMatch    = minMatch + 15 + 254 // longest length without the 16-bit escape
	maxCodeLen  = 15
	numSymbols  = 512
	eofSymbol   = 256
	hashBits    = 14
	chainLength = 64
)

type token struct {
	lit    byte
	length int // 0 for a literal
	dist   int
}

func compressHuffman(in []byte) []byte {
	var out []byte
	for start := 0; start < len(in); start += blockSize {
		end := min(start+blockSize, len(in))
		out = compressBlock(out, in[start:end], end == len(in))
	}
	return out
}

// tokenize finds greedy LZ77 matches with hash chains over 3-byte prefixes.
// Everything is deterministic: the same input gives the same tokens.
func tokenize(b []byte) []token {
	head := make([]int32, 1<<hashBits)
	for i := range head {
		head[i] = -1
	}
	prev := make([]int32, len(b))
	hash := func(i int) int {
		v := uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16
		return int((v * 2654435761) >> (32 - hashBits))
	}
	insert := func(i int) {
		if i+minMatch <= len(b) {
			h := hash(i)
			prev[i] = head[h]
			head[h] = int32(i)
		}
	}
	var toks []token
	for i := 0; i < len(b); {
		bestLen, bestDist := 0, 0
		if i+minMatch <= len(b) {
			limit := min(maxMatch, len(b)-i)
			cand := head[hash(i)]
			for steps := 0; cand >= 0 && steps < chainLength; steps++ {
				j := int(cand)
				l := 0
				for l < limit && b[j+l] == b[i+l] {
					l++
				}
				if l > bestLen {
					bestLen, bestDist = l, i-j
					if l == limit {
						break
					}
				}
				cand = prev[j]
			}
		}
		if bestLen >= minMatch {
			toks = append(toks, token{length: bestLen, dist: bestDist})
			for k := 0; k < bestLen; k++ {
				insert(i + k)
			}
			i += bestLen
			continue
		}
		toks = append(toks, token{lit: b[i]})
		insert(i)
		i++
	}
	return toks
}

func log2(v int) int {
	n := 0
	for v > 1 {
		v >>= 1
		n++
	}
	return n
}

func (t token) symbol() int {
	if t.length == 0 {
		return int(t.lit)
	}
	return 256 + log2(t.dist)<<4 + min(t.length-minMatch, 15)
}

// codeLengths builds Huffman code lengths no longer than 15 bits; when the
// tree is too deep the frequencies are flattened and it is built again.
func codeLengths(freq []int) []uint8 {
	f := append([]int(nil), freq...)
	for {
		lens := huffmanLengths(f)
		deepest := uint8(0)
		for _, l := range lens {
			deepest = max(deepest, l)
		}
		if deepest <= maxCodeLen {
			return lens
		}
		for i := range f {
			if f[i] > 0 {
				f[i] = (f[i] + 1) / 2
			}
		}
	}
}

func huffmanLengths(freq []int) []uint8 {
	type node struct {
		weight, order int
		sym           int // -1 for inner nodes
		left, right   *node
	}
	var nodes []*node
	for s, w := range freq {
		if w > 0 {
			nodes = append(nodes, &node{weight: w, order: s, sym: s})
		}
	}
	lens := make([]uint8, len(freq))
	if len(nodes) == 1 {
		lens[nodes[0].sym] = 1
		return lens
	}
	less := func(a, b *node) bool {
		if a.weight != b.weight {
			return a.weight < b.weight
		}
		return a.order < b.order
	}
	next := len(freq)
	for len(nodes) > 1 {
		sort.Slice(nodes, func(i, j int) bool { return less(nodes[i], nodes[j]) })
		a, b := nodes[0], nodes[1]
		parent := &node{weight: a.weight + b.weight, order: next, sym: -1, left: a, right: b}
		next++
		nodes = append(nodes[2:], parent)
	}
	var walk func(n *node, depth uint8)
	walk = func(n *node, depth uint8) {
		if n.sym >= 0 {
			lens[n.sym] = depth
			return
		}
		walk(n.left, depth+1)
		walk(n.right, depth+1)
	}
	walk(nodes[0], 0)
	return lens
}

// canonicalCodes assigns codes in (length, symbol) order, which is how
// decoders rebuild the tree from the length table.
func canonicalCodes(lens []uint8) []uint16 {
	syms := make([]int, 0, len(lens))
	for s, l := range lens {
		if l > 0 {
			syms = append(syms, s)
		}
	}
	sort.SliceStable(syms, func(i, j int) bool { return lens[syms[i]] < lens[syms[j]] })
	codes := make([]uint16, len(lens))
	code, prevLen := 0, uint8(0)
	for _, s := range syms {
		code <<= lens[s] - prevLen
		prevLen = lens[s]
		codes[s] = uint16(code)
		code++
	}
	return codes
}

// bitWriter mirrors the decoder's reads. The decoder holds 32 bits, two
// little-endian 16-bit words, and fetches the next word as soon as it has
// started consuming a word's bits; raw bytes (long match lengths) are read
// from wherever its input cursor then is. So the writer keeps one word slot
// reserved beyond the word being filled, and appends raw bytes after it.
type bitWriter struct {
	out   []byte
	slots []int // positions of reserved words, oldest first
	cur   uint16
	n     int // bits in cur
	words int // words started
}

func newBitWriter(out []byte) *bitWriter {
	w := &bitWriter{out: out}
	w.reserve()
	w.reserve()
	return w
}

func (w *bitWriter) reserve() {
	w.slots = append(w.slots, len(w.out))
	w.out = append(w.out, 0, 0)
}

func (w *bitWriter) bits(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.n == 0 {
			if w.words > 0 {
				w.reserve()
			}
			w.words++
		}
		w.cur = w.cur<<1 | uint16(v>>uint(i)&1)
		w.n++
		if w.n == 16 {
			w.flushWord()
		}
	}
}

func (w *bitWriter) flushWord() {
	binary.LittleEndian.PutUint16(w.out[w.slots[0]:], w.cur)
	w.slots = w.slots[1:]
	w.cur, w.n = 0, 0
}

func (w *bitWriter) finish() []byte {
	if w.n > 0 {
		w.cur <<= uint(16 - w.n)
		w.flushWord()
	}
	return w.out
}

func compressBlock(out, block []byte, last bool) []byte {
	toks := tokenize(block)
	freq := make([]int, numSymbols)
	for _, t := range toks {
		freq[t.symbol()]++
	}
	// The end-of-stream symbol is coded in every table (it is emitted only
	// after the last block); it also guarantees at least two symbols.
	freq[eofSymbol]++
	lens := codeLengths(freq)
	codes := canonicalCodes(lens)

	var table [256]byte
	for s := 0; s < numSymbols; s += 2 {
		table[s/2] = lens[s] | lens[s+1]<<4
	}
	out = append(out, table[:]...)
	w := newBitWriter(out)
	for _, t := range toks {
		s := t.symbol()
		w.bits(uint32(codes[s]), int(lens[s]))
		if t.length == 0 {
			continue
		}
		if t.length-minMatch >= 15 {
			w.out = append(w.out, byte(t.length-minMatch-15))
		}
		if k := log2(t.dist); k > 0 {
			w.bits(uint32(t.dist-1<<k), k)
		}
	}
	if last {
		w.bits(uint32(codes[eofSymbol]), int(lens[eofSymbol]))
	}
	return w.finish()
}
