package seccomp

import (
	"fmt"
	"slices"
)

// Instruction is one classic BPF instruction (struct sock_filter).
type Instruction struct {
	Code uint16
	Jt   uint8
	Jf   uint8
	K    uint32
}

// Classic BPF opcodes used here.
const (
	bpfLdAbsW = 0x20 // BPF_LD|BPF_W|BPF_ABS
	bpfJeqK   = 0x15 // BPF_JMP|BPF_JEQ|BPF_K
	bpfJgtK   = 0x25 // BPF_JMP|BPF_JGT|BPF_K
	bpfJgeK   = 0x35 // BPF_JMP|BPF_JGE|BPF_K
	bpfJsetK  = 0x45 // BPF_JMP|BPF_JSET|BPF_K
	bpfRetK   = 0x06 // BPF_RET|BPF_K
	bpfAndK   = 0x54 // BPF_ALU|BPF_AND|BPF_K
)

// Seccomp return actions.
const (
	retAllow       = 0x7fff0000 // SECCOMP_RET_ALLOW
	retErrno       = 0x00050000 // SECCOMP_RET_ERRNO | errno
	retKillProcess = 0x80000000 // SECCOMP_RET_KILL_PROCESS
	errnoEPERM     = 1
	errnoENOSYS    = 38
)

// Offsets in struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16 // args[0], low 32 bits on little-endian machines
)

// File type bits of a mode.
const (
	sIFMT  = 0o170000
	sIFBLK = 0o060000
	sIFCHR = 0o020000
)

// x32SyscallBit marks x32 syscalls on amd64; they are refused.
const x32SyscallBit = 0x40000000

// Arch describes the architecture a filter is built for.
type Arch struct {
	Audit    uint32            // AUDIT_ARCH_* value seccomp_data.arch holds
	Syscalls map[string]uint32 // syscall numbers by name
	X32      bool              // refuse numbers with x32SyscallBit
}

// Build returns the default filter for arch, given the capabilities the
// process keeps (numbers, as in linux/capability.h).
func Build(arch Arch, caps []int) ([]Instruction, error) {
	if len(arch.Syscalls) == 0 {
		return nil, fmt.Errorf("seccomp: no syscall table")
	}
	allow := map[uint32]bool{}
	add := func(names ...string) {
		for _, n := range names {
			if nr, ok := arch.Syscalls[n]; ok {
				allow[nr] = true
			}
		}
	}
	add(allowed...)
	sysAdmin := slices.Contains(caps, 21)
	for _, c := range caps {
		add(byCapability[c]...)
	}
	p := []Instruction{
		ld(offArch),
		{Code: bpfJeqK, Jt: 1, Jf: 0, K: arch.Audit},
		ret(retKillProcess),
		ld(offNr),
	}
	if arch.X32 {
		p = append(p, Instruction{Code: bpfJgeK, Jt: 0, Jf: 1, K: x32SyscallBit}, ret(retErrno|errnoEPERM))
	}
	p = append(p, argRules(arch, sysAdmin)...)
	for _, r := range ranges(allow) {
		// nr > hi: try the next range; nr >= lo: allow; else next range.
		p = append(p,
			Instruction{Code: bpfJgtK, Jt: 2, Jf: 0, K: r[1]},
			Instruction{Code: bpfJgeK, Jt: 0, Jf: 1, K: r[0]},
			ret(retAllow),
		)
	}
	p = append(p, ret(retErrno|errnoEPERM))
	if len(p) > 4096 {
		return nil, fmt.Errorf("seccomp: filter of %d instructions exceeds 4096", len(p))
	}
	return p, nil
}

// argRules are the syscalls allowed only with some arguments. Each block
// leaves the accumulator holding nr when it does not decide.
func argRules(arch Arch, sysAdmin bool) []Instruction {
	var p []Instruction
	if nr, ok := arch.Syscalls["personality"]; ok {
		// if nr == personality: load arg0; allow listed values; else EPERM.
		block := []Instruction{ld(offArg0)}
		for i, v := range personalities {
			left := len(personalities) - i - 1
			block = append(block, Instruction{Code: bpfJeqK, Jt: uint8(left + 1), Jf: 0, K: v})
		}
		block = append(block, ret(retErrno|errnoEPERM), ret(retAllow))
		p = append(p, Instruction{Code: bpfJeqK, Jt: 0, Jf: uint8(len(block)), K: nr})
		p = append(p, block...)
	}
	if nr, ok := arch.Syscalls["clone"]; ok && !sysAdmin {
		block := []Instruction{
			ld(offArg0),
			{Code: bpfJsetK, Jt: 0, Jf: 1, K: cloneNamespaceFlags},
			ret(retErrno | errnoEPERM),
			ret(retAllow),
		}
		p = append(p, Instruction{Code: bpfJeqK, Jt: 0, Jf: uint8(len(block)), K: nr})
		p = append(p, block...)
	} else if ok {
		p = append(p, Instruction{Code: bpfJeqK, Jt: 0, Jf: 1, K: nr}, ret(retAllow))
	}
	// No block devices: what a device cgroup would refuse (Docker denies
	// "b *:* m"), also without one.
	for _, m := range []struct {
		name string
		off  uint32
	}{{"mknod", offArg0 + 8}, {"mknodat", offArg0 + 16}} {
		if nr, ok := arch.Syscalls[m.name]; ok {
			block := []Instruction{
				ld(m.off),
				{Code: bpfAndK, K: sIFMT},
				{Code: bpfJeqK, Jt: 0, Jf: 1, K: sIFBLK},
				ret(retErrno | errnoEPERM),
				ret(retAllow),
			}
			p = append(p, Instruction{Code: bpfJeqK, Jt: 0, Jf: uint8(len(block)), K: nr})
			p = append(p, block...)
		}
	}
	if nr, ok := arch.Syscalls["clone3"]; ok && !sysAdmin {
		p = append(p, Instruction{Code: bpfJeqK, Jt: 0, Jf: 1, K: nr}, ret(retErrno|errnoENOSYS))
	}
	return p
}

func ld(off uint32) Instruction { return Instruction{Code: bpfLdAbsW, K: off} }
func ret(k uint32) Instruction  { return Instruction{Code: bpfRetK, K: k} }

// ranges returns the numbers in set as sorted, inclusive [lo, hi] runs.
func ranges(set map[uint32]bool) [][2]uint32 {
	nrs := make([]uint32, 0, len(set))
	for nr := range set {
		nrs = append(nrs, nr)
	}
	slices.Sort(nrs)
	var out [][2]uint32
	for _, nr := range nrs {
		if n := len(out); n > 0 && out[n-1][1]+1 == nr {
			out[n-1][1] = nr
			continue
		}
		out = append(out, [2]uint32{nr, nr})
	}
	return out
}
