//go:build linux && amd64

package seccomp

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// run interprets prog the way the kernel does, for one syscall.
func run(t *testing.T, prog []Instruction, arch, nr uint32, arg0 uint32) uint32 {
	t.Helper()
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case bpfLdAbsW:
			switch in.K {
			case offNr:
				acc = nr
			case offArch:
				acc = arch
			case offArg0, offArg0 + 8, offArg0 + 16:
				acc = arg0
			default:
				t.Fatalf("load of offset %d", in.K)
			}
		case bpfAndK:
			acc &= in.K
		case bpfRetK:
			return in.K
		case bpfJeqK, bpfJgtK, bpfJgeK, bpfJsetK:
			var cond bool
			switch in.Code {
			case bpfJeqK:
				cond = acc == in.K
			case bpfJgtK:
				cond = acc > in.K
			case bpfJgeK:
				cond = acc >= in.K
			case bpfJsetK:
				cond = acc&in.K != 0
			}
			if cond {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		default:
			t.Fatalf("unknown opcode %#x", in.Code)
		}
	}
	t.Fatal("program fell off its end")
	return 0
}

func TestDefaultFilter(t *testing.T) {
	arch, err := Native()
	require.NoError(t, err)
	def, err := Build(arch, []int{0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31})
	require.NoError(t, err)
	admin, err := Build(arch, []int{21, 19})
	require.NoError(t, err)
	const eperm, enosys = retErrno | errnoEPERM, retErrno | errnoENOSYS
	tests := []struct {
		name string
		prog []Instruction
		arch uint32
		nr   uint32
		arg0 uint32
		want uint32
	}{
		{"read", def, unix.AUDIT_ARCH_X86_64, unix.SYS_READ, 0, retAllow},
		{"execve", def, unix.AUDIT_ARCH_X86_64, unix.SYS_EXECVE, 0, retAllow},
		{"last allowed", def, unix.AUDIT_ARCH_X86_64, unix.SYS_WRITEV, 0, retAllow},
		{"mount", def, unix.AUDIT_ARCH_X86_64, unix.SYS_MOUNT, 0, eperm},
		{"mount with CAP_SYS_ADMIN", admin, unix.AUDIT_ARCH_X86_64, unix.SYS_MOUNT, 0, retAllow},
		{"keyctl", def, unix.AUDIT_ARCH_X86_64, unix.SYS_KEYCTL, 0, eperm},
		{"kexec_load", admin, unix.AUDIT_ARCH_X86_64, unix.SYS_KEXEC_LOAD, 0, eperm},
		{"ptrace", def, unix.AUDIT_ARCH_X86_64, unix.SYS_PTRACE, 0, eperm},
		{"ptrace with CAP_SYS_PTRACE", admin, unix.AUDIT_ARCH_X86_64, unix.SYS_PTRACE, 0, retAllow},
		{"unshare", def, unix.AUDIT_ARCH_X86_64, unix.SYS_UNSHARE, 0, eperm},
		{"clone thread", def, unix.AUDIT_ARCH_X86_64, unix.SYS_CLONE, unix.CLONE_VM | unix.CLONE_THREAD, retAllow},
		{"clone newuser", def, unix.AUDIT_ARCH_X86_64, unix.SYS_CLONE, unix.CLONE_NEWUSER, eperm},
		{"clone newuser as admin", admin, unix.AUDIT_ARCH_X86_64, unix.SYS_CLONE, unix.CLONE_NEWUSER, retAllow},
		{"clone3", def, unix.AUDIT_ARCH_X86_64, unix.SYS_CLONE3, 0, enosys},
		{"clone3 as admin", admin, unix.AUDIT_ARCH_X86_64, unix.SYS_CLONE3, 0, retAllow},
		{"personality linux", def, unix.AUDIT_ARCH_X86_64, unix.SYS_PERSONALITY, 0, retAllow},
		{"personality query", def, unix.AUDIT_ARCH_X86_64, unix.SYS_PERSONALITY, 0xffffffff, retAllow},
		{"personality other", def, unix.AUDIT_ARCH_X86_64, unix.SYS_PERSONALITY, 0x0040000, eperm},
		{"x32", def, unix.AUDIT_ARCH_X86_64, x32SyscallBit | unix.SYS_READ, 0, eperm},
		{"i386", def, unix.AUDIT_ARCH_I386, unix.SYS_READ, 0, retKillProcess},
		{"mknod block", def, unix.AUDIT_ARCH_X86_64, unix.SYS_MKNOD, sIFBLK | 0o600, eperm},
		{"mknodat block", admin, unix.AUDIT_ARCH_X86_64, unix.SYS_MKNODAT, sIFBLK | 0o600, eperm},
		{"mknod fifo", def, unix.AUDIT_ARCH_X86_64, unix.SYS_MKNOD, 0o010600, retAllow},
		{"mknodat char", def, unix.AUDIT_ARCH_X86_64, unix.SYS_MKNODAT, sIFCHR | 0o666, retAllow},
		{"unknown number", def, unix.AUDIT_ARCH_X86_64, 1000, 0, eperm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, run(t, tt.prog, tt.arch, tt.nr, tt.arg0))
		})
	}
}

func TestRanges(t *testing.T) {
	got := ranges(map[uint32]bool{1: true, 2: true, 3: true, 7: true, 9: true, 10: true})
	assert.Equal(t, [][2]uint32{{1, 3}, {7, 7}, {9, 10}}, got)
}

func TestEveryAllowedNameIsASyscallSomewhere(t *testing.T) {
	// A misspelt name would silently allow nothing: each name must exist
	// on amd64 or be one of the few that exist only elsewhere.
	elsewhere := map[string]bool{"chown32": true, "futex_time64": true, "ipc": true, "send": true,
		"socketcall": true, "waitpid": true, "stime": true, "umount": true, "cachestat": false}
	for _, n := range allowed {
		if _, ok := syscalls[n]; !ok && !elsewhere[n] {
			t.Errorf("%q is no amd64 syscall", n)
		}
	}
}
