//go:build linux

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

var netApplets = map[string]applet{
	"listen":  {"listen ADDR", listen},
	"connect": {"connect ADDR MSG", connect},
}

// listen runs a TCP echo server on ADDR. It prints "listening ADDR" (the
// bound address, so ":0" works) once it accepts connections.
func listen(args []string) error {
	if err := need(args, 1, "listen ADDR"); err != nil {
		return err
	}
	l, err := net.Listen("tcp", args[0])
	if err != nil {
		return err
	}
	fmt.Println("listening", l.Addr())
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(c, c)
		}()
	}
}

// connect dials ADDR (retrying for up to 5 s while it is refused), sends
// MSG and a newline, and prints the first line it gets back.
func connect(args []string) error {
	if err := need(args, 2, "connect ADDR MSG"); err != nil {
		return err
	}
	var c net.Conn
	var err error
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err = net.DialTimeout("tcp", args[0], time.Second)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "%s\n", strings.Join(args[1:], " ")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	fmt.Print(line)
	return nil
}
