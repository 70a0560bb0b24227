package reader

import (
	"context"
	"io"
	"sync"
)

// ctxReader reads a source that may block indefinitely (a pipe, a FIFO, a
// terminal) on a goroutine of its own and hands the data over in chunks, so
// that a Read waiting for input returns ctx.Err() as soon as ctx is done.
// The goroutine ends at the end of the source, on a read error, or — when
// the source is closed by Close — once its blocked read returns. Not safe
// for concurrent use (one consumer).
type ctxReader struct {
	ctx    context.Context
	chunks chan []byte
	free   chan []byte
	stop   chan struct{}
	err    error  // set by the goroutine before it closes chunks
	chunk  []byte // the chunk being consumed
	cur    []byte // its unread part
	stick  error  // returned by every Read after the end
	once   sync.Once

	mu  sync.Mutex
	src io.ReadCloser // nil until opened
}

const ctxChunk = 64 << 10

func newCtxReader(ctx context.Context, open func() (io.ReadCloser, error)) *ctxReader {
	c := &ctxReader{ctx: ctx, chunks: make(chan []byte, 2), free: make(chan []byte, 3), stop: make(chan struct{})}
	go c.run(open)
	return c
}

func (c *ctxReader) run(open func() (io.ReadCloser, error)) {
	defer close(c.chunks)
	src, err := open()
	if err != nil {
		c.err = err
		return
	}
	c.mu.Lock()
	select {
	case <-c.stop: // closed while opening
		c.mu.Unlock()
		src.Close()
		return
	default:
	}
	c.src = src
	c.mu.Unlock()
	for {
		var b []byte
		select {
		case b = <-c.free:
		default:
			b = make([]byte, ctxChunk)
		}
		n, err := src.Read(b[:cap(b)])
		if n > 0 {
			select {
			case c.chunks <- b[:n]:
			case <-c.stop:
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				c.err = err
			}
			return
		}
	}
}

// Read implements io.Reader.
func (c *ctxReader) Read(p []byte) (int, error) {
	if c.stick != nil {
		return 0, c.stick
	}
	for len(c.cur) == 0 {
		if c.chunk != nil {
			select {
			case c.free <- c.chunk:
			default:
			}
			c.chunk = nil
		}
		select {
		case b, ok := <-c.chunks:
			if !ok {
				c.stick = io.EOF
				if c.err != nil {
					c.stick = c.err
				}
				return 0, c.stick
			}
			c.chunk, c.cur = b, b
		case <-c.ctx.Done():
			c.stick = c.ctx.Err()
			return 0, c.stick
		}
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

// Close stops the goroutine and closes the source (which makes a read
// blocked on it return, for files the goroutine opened).
func (c *ctxReader) Close() error {
	var err error
	c.once.Do(func() {
		c.mu.Lock()
		close(c.stop)
		src := c.src
		c.mu.Unlock()
		if src != nil {
			err = src.Close()
		}
	})
	return err
}
