package layers

import (
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
)

// pipeline reads, decompresses and hashes the layer stream on its own
// goroutine, handing chunks to the extracting goroutine, so that
// decompression, hashing and file creation use both cores.
type pipeline struct {
	full chan chunk
	free chan []byte
	done chan struct{}
	exit chan error // the goroutine's close error, once
	cur  chunk
	off  int
	dgst digest.Digest // set once the whole stream is hashed
	err  error         // sticky error seen by Read
	h    digest.Digester
}

type chunk struct {
	buf    []byte
	err    error
	sum    digest.Digest // with err == io.EOF: the digest of the whole stream, if hashed
	hashed bool          // the producer has hashed buf
}

const (
	pipeChunk  = 512 << 10
	pipeChunks = 8
)

func startPipeline(r io.Reader, maxSize int64) *pipeline {
	p := &pipeline{
		full: make(chan chunk, pipeChunks),
		free: make(chan []byte, pipeChunks),
		done: make(chan struct{}),
		exit: make(chan error, 1),
		h:    digest.SHA256.Digester(),
	}
	for range pipeChunks {
		p.free <- make([]byte, pipeChunk)
	}
	go p.produce(r, maxSize)
	return p
}

func (p *pipeline) produce(r io.Reader, maxSize int64) {
	dr, c, err := Decompress(r)
	if err != nil {
		p.send(chunk{err: err})
		p.exit <- nil
		return
	}
	// Decompressing gzip is the slow stage; then the extracting
	// goroutine, which has time to spare, hashes. Plain and zstd streams
	// (zstd decodes on goroutines of its own) are hashed here.
	hashHere := c != Gzip
	h := digest.SHA256.Digester()
	var total int64
	for {
		var buf []byte
		select {
		case buf = <-p.free:
		case <-p.done:
			p.exit <- dr.Close()
			return
		}
		n, err := fill(dr, buf)
		if hashHere {
			h.Hash().Write(buf[:n])
		}
		total += int64(n)
		c := chunk{buf: buf[:n], hashed: hashHere}
		switch {
		case maxSize > 0 && total > maxSize:
			c.buf = c.buf[:int64(n)-(total-maxSize)]
			c.err = fmt.Errorf("more than %d bytes uncompressed: %w", maxSize, ErrTooLarge)
		case err == io.EOF:
			c.err = io.EOF
			if hashHere {
				c.sum = h.Digest()
			}
		case err != nil:
			c.err = err
		}
		if !p.send(c) || c.err != nil {
			p.exit <- dr.Close()
			return
		}
	}
}

func (p *pipeline) send(c chunk) bool {
	select {
	case p.full <- c:
		return true
	case <-p.done:
		return false
	}
}

// Read hands out the bytes of the chunks in order.
func (p *pipeline) Read(b []byte) (int, error) {
	for p.off >= len(p.cur.buf) {
		if p.err != nil {
			return 0, p.err
		}
		if p.cur.buf != nil {
			p.free <- p.cur.buf[:cap(p.cur.buf)]
			p.cur.buf = nil
		}
		if p.cur.err != nil {
			p.err = p.cur.err
			continue
		}
		p.cur, p.off = <-p.full, 0
		if !p.cur.hashed {
			p.h.Hash().Write(p.cur.buf)
		}
		if p.cur.err == io.EOF {
			p.dgst = p.cur.sum
			if !p.cur.hashed {
				p.dgst = p.h.Digest()
			}
		}
	}
	n := copy(b, p.cur.buf[p.off:])
	p.off += n
	return n, nil
}

// drain reads the rest of the stream (the tar padding after the
// end-of-archive marker) and returns the digest of the whole stream.
func (p *pipeline) drain() (digest.Digest, error) {
	if _, err := io.Copy(io.Discard, p); err != nil {
		return "", fmt.Errorf("reading layer end: %w", err)
	}
	if p.dgst == "" {
		return "", errors.New("reading layer end: stream ended without digest")
	}
	return p.dgst, nil
}

// stop ends the producer goroutine and waits for it, so that r is no longer
// read once Apply returns.
func (p *pipeline) stop() error {
	close(p.done)
	return <-p.exit
}

// fill reads into buf until it is full or r fails; unlike io.ReadFull it
// passes io.EOF and io.ErrUnexpectedEOF from r through unchanged, so a
// truncated compressed stream stays an error.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
