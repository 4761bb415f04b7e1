package srum

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/foothold/foothold/parsers/event"
)

const (
	ticksPerDay = 864_000_000_000 // 100 ns ticks in a day

	// oleEpochDays is 1899-12-30 (OLE day 0) counted in days from
	// 1601-01-01 (FILETIME 0).
	oleEpochDays = 109205

	// oleMaxDays is 9999-12-31, the last day an OLE date may name and the
	// last day event.FileTime renders as a date.
	oleMaxDays = 2958465
)

// OLEDate converts an OLE Automation date (a float64 of days since
// 1899-12-30 00:00, the ESE DateTime that SRUM's TimeStamp holds) to a
// FILETIME, exactly: the double's binary value times 864e9 ticks per day,
// rounded to the nearest 100 ns tick (ties to even). go-ese instead
// multiplies in floating point and truncates to whole seconds, which puts
// a row up to a second early.
//
// As the OLE spec has it, the fraction of a negative date counts forward
// from midnight of its day: -1.25 is 1899-12-29 06:00, not 1899-12-28
// 18:00.
//
// NaN, infinities and dates outside 1601-01-01 … 9999-12-31 give 0 (unset)
// and an error saying why.
func OLEDate(days float64) (event.FileTime, error) {
	if math.IsNaN(days) || math.IsInf(days, 0) {
		return 0, fmt.Errorf("OLE date %v is not a number", days)
	}
	whole := math.Trunc(days)
	if whole < -oleEpochDays || whole > oleMaxDays {
		return 0, fmt.Errorf("OLE date %v is outside 1601-01-01 to 9999-12-31", days)
	}
	// Subtracting the integral part of a double is exact, so frac is the
	// stored fraction bit for bit.
	frac := math.Abs(days - whole)
	ticks := uint64(int64(whole)+oleEpochDays)*ticksPerDay + fracTicks(frac)
	if ticks >= (oleMaxDays+oleEpochDays+1)*ticksPerDay {
		return 0, fmt.Errorf("OLE date %v rounds past 9999-12-31", days)
	}
	return event.FileTime(ticks), nil
}

// fracTicks returns f*ticksPerDay rounded to the nearest integer, ties to
// even, for 0 <= f < 1, in exact integer arithmetic: f is mant*2^-shift,
// so the product is a 128-bit integer shifted right by shift.
func fracTicks(f float64) uint64 {
	if f == 0 {
		return 0
	}
	b := math.Float64bits(f)
	mant := b & (1<<52 - 1)
	exp := int(b >> 52 & 0x7ff)
	shift := 1074 // subnormal: mant * 2^-1074
	if exp != 0 {
		mant |= 1 << 52
		shift = 1075 - exp
	}
	// f < 1 makes shift >= 53; mant < 2^53 and ticksPerDay < 2^40 make the
	// product < 2^93, so a shift of 94 or more leaves less than a half.
	if shift >= 94 {
		return 0
	}
	hi, lo := bits.Mul64(mant, ticksPerDay)
	var q, remHi, remLo, halfHi, halfLo uint64
	if shift < 64 {
		q = hi<<(64-shift) | lo>>shift
		remLo = lo & (1<<shift - 1)
		halfLo = 1 << (shift - 1)
	} else {
		s := shift - 64
		q = hi >> s
		remHi, remLo = hi&(1<<s-1), lo
		if s == 0 {
			halfLo = 1 << 63
		} else {
			halfHi = 1 << (s - 1)
		}
	}
	switch {
	case remHi > halfHi || remHi == halfHi && remLo > halfLo:
		q++
	case remHi == halfHi && remLo == halfLo && q&1 == 1:
		q++
	}
	return q
}

// dateValue decodes the raw 8 bytes of an ESE DateTime column. Column
// flag 1 marks a FILETIME; otherwise the value is an OLE date, which is
// what every SRUM DateTime column holds. go-ese would also read an OLE
// value of 1.0 or less as a FILETIME (for ADCS databases); SRUM has no
// such columns, and that guess would misread negative OLE dates.
func dateValue(raw uint64, flags uint32) (event.FileTime, error) {
	if flags == 1 {
		return event.FileTime(raw), nil
	}
	return OLEDate(math.Float64frombits(raw))
}
