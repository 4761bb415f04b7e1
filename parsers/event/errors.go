package event

import (
	"errors"
	"fmt"
)

// Errors collects a parser's per-record problems: it counts every one and
// keeps the first Max, so the error a parser returns stays readable however
// damaged the artifact is.
type Errors struct {
	Max  int // samples kept; 0 means 8
	list []error
	n    int64
}

// Add records one problem.
func (e *Errors) Add(err error) {
	e.n++
	max := e.Max
	if max == 0 {
		max = 8
	}
	if len(e.list) < max {
		e.list = append(e.list, err)
	}
}

// Count is how many problems were recorded, kept or not.
func (e *Errors) Count() int64 { return e.n }

// Err joins the samples, "and N more" for the rest, and any extra errors;
// nil when there is nothing.
func (e *Errors) Err(extra ...error) error {
	list := append([]error(nil), e.list...)
	if e.n > int64(len(list)) {
		list = append(list, fmt.Errorf("and %d more", e.n-int64(len(list))))
	}
	list = append(list, extra...)
	return errors.Join(list...)
}
