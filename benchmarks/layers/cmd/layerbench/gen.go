package main

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"
)

// generateLayer writes a deterministic layer tar: files files in dirs of
// about 20, sizes drawn so that the total is near total bytes (a few big
// files, many small ones), with text-like content that compresses about
// as well as binaries and sources do.
func generateLayer(path string, files int, total int64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	tw := tar.NewWriter(bw)
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := fileSizes(rng, files, total)
	mtime := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	words := dictionary(rng)
	dir := ""
	for i := range files {
		if i%20 == 0 {
			dir = fmt.Sprintf("usr/share/pkg%03d/sub%02d", i/400, (i/20)%20)
			if (i/20)%20 == 0 {
				if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: fmt.Sprintf("usr/share/pkg%03d/", i/400), Mode: 0o755, ModTime: mtime}); err != nil {
					return err
				}
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir + "/", Mode: 0o755, ModTime: mtime}); err != nil {
				return err
			}
		}
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("%s/file%05d", dir, i), Mode: 0o644, Size: sizes[i], ModTime: mtime}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if err := writeContent(tw, rng, words, sizes[i]); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func fileSizes(rng *rand.Rand, n int, total int64) []int64 {
	raw := make([]float64, n)
	sum := 0.0
	for i := range raw {
		// log-normal-ish: many small files, a long tail of big ones
		raw[i] = rng.ExpFloat64() * rng.ExpFloat64() * rng.ExpFloat64()
		sum += raw[i]
	}
	out := make([]int64, n)
	for i, r := range raw {
		out[i] = int64(r / sum * float64(total))
	}
	return out
}

func dictionary(rng *rand.Rand) [][]byte {
	words := make([][]byte, 4096)
	for i := range words {
		w := make([]byte, 2+rng.IntN(10))
		for j := range w {
			w[j] = byte('a' + rng.IntN(26))
		}
		words[i] = w
	}
	return words
}

// writeContent writes size bytes: words with some random bytes mixed in.
func writeContent(w io.Writer, rng *rand.Rand, words [][]byte, size int64) error {
	buf := make([]byte, 0, 64<<10)
	for size > 0 {
		buf = buf[:0]
		for len(buf) < cap(buf)-16 && int64(len(buf)) < size {
			if rng.IntN(8) == 0 {
				buf = append(buf, byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()))
			}
			buf = append(buf, words[rng.IntN(len(words))]...)
			buf = append(buf, ' ')
		}
		if int64(len(buf)) > size {
			buf = buf[:size]
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
		size -= int64(len(buf))
	}
	return nil
}
