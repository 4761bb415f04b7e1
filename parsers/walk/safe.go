package walk

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"
)

// Stats is what one parser run reports.
type Stats struct {
	Records, Errors int64
}

// guard runs one parser with the protections every parser gets, whatever
// its quality: a panic becomes an error (with the stack, so it can be
// fixed), and a deadline stops a parser that loops on hostile input. What
// was emitted before either stays in the case.
func guard(parent context.Context, limit time.Duration, what string, fn func(ctx context.Context) (Stats, error)) (st Stats, err error) {
	ctx := parent
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(parent, limit)
		defer cancel()
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: parser panic: %v\n%s", what, r, debug.Stack())
			st.Errors++
		}
	}()
	st, err = fn(ctx)
	// The time cap is the parser's failure, not the user's interrupt: report
	// it as an error of this source, without wrapping the context error.
	if parent.Err() == nil && ctx.Err() != nil {
		err = fmt.Errorf("%s: stopped at the time cap of %v", what, limit)
		st.Errors++
	}
	return st, err
}
