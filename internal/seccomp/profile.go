// Package seccomp builds and loads Berth's default seccomp filter: an
// allowlist in the manner of Docker's default profile, written as classic
// BPF in pure Go. Syscalls not listed fail with EPERM; a few are allowed
// only with certain arguments (personality, clone without namespace
// flags) or capabilities (mount with CAP_SYS_ADMIN, ptrace with
// CAP_SYS_PTRACE, ...). clone3 fails with ENOSYS unless CAP_SYS_ADMIN is
// granted, so that C libraries fall back to clone, whose flags the filter
// can inspect. Supported on amd64 and arm64.
package seccomp

// allowed are the syscalls every container may make: Docker's default
// list, less the obsolete ones, by name. Names this architecture lacks are
// skipped.
var allowed = []string{
	"accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk", "cachestat",
	"capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_getres",
	"clock_gettime", "clock_nanosleep", "close", "close_range", "connect", "copy_file_range",
	"creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
	"epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve",
	"execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fallocate",
	"fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchownat", "fcntl",
	"fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
	"fstatfs", "fsync", "ftruncate", "futex", "futex_requeue", "futex_time64", "futex_wait",
	"futex_waitv", "futex_wake", "futimesat", "get_robust_list", "get_thread_area", "getcpu",
	"getcwd", "getdents", "getdents64", "getegid", "geteuid", "getgid", "getgroups", "getitimer",
	"getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
	"getresgid", "getresuid", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt",
	"gettid", "gettimeofday", "getuid", "getxattr", "inotify_add_watch", "inotify_init",
	"inotify_init1", "inotify_rm_watch", "io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
	"io_setup", "io_submit", "ioctl", "ioprio_get", "ioprio_set", "ipc", "kill",
	"landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lgetxattr",
	"link", "linkat", "listen", "listxattr", "llistxattr", "lremovexattr", "lseek", "lsetxattr",
	"lstat", "madvise", "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore",
	"mkdir", "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mprotect",
	"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedsend", "mq_unlink",
	"mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall",
	"munmap", "name_to_handle_at", "nanosleep", "newfstatat", "open", "openat", "openat2", "pause",
	"pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect",
	"poll", "ppoll", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease",
	"pselect6", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat",
	"readv", "recvfrom", "recvmmsg", "recvmsg", "remap_file_pages", "removexattr", "rename",
	"renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
	"rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_tgsigqueueinfo", "sched_get_priority_max", "sched_get_priority_min", "sched_getaffinity",
	"sched_getattr", "sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
	"sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
	"seccomp", "select", "semctl", "semget", "semop", "semtimedop", "send", "sendfile", "sendmmsg",
	"sendmsg", "sendto", "set_robust_list", "set_thread_area", "set_tid_address", "setfsgid",
	"setdomainname", "setfsuid", "setgid", "sethostname", "setgroups", "setitimer", "setpgid", "setpriority", "setregid",
	"setresgid", "setresuid", "setreuid", "setrlimit", "setsid", "setsockopt", "setuid",
	"setxattr", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
	"signalfd4", "socket", "socketcall", "socketpair", "splice", "stat", "statfs", "statx",
	"symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time",
	"timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_settime",
	"timerfd_create", "timerfd_gettime", "timerfd_settime", "times", "tkill", "truncate", "umask",
	"uname", "unlink", "unlinkat", "utime", "utimensat", "utimes", "vfork", "vmsplice", "wait4",
	"waitid", "waitpid", "write", "writev",
}

// byCapability are the syscalls a capability adds, as in Docker's profile.
var byCapability = map[int][]string{
	21: { // CAP_SYS_ADMIN
		"bpf", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
		"mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl",
		"quotactl_fd", "setns", "umount", "umount2", "unshare",
	},
	16: {"delete_module", "finit_module", "init_module"},                                              // CAP_SYS_MODULE
	17: {"ioperm", "iopl"},                                                                            // CAP_SYS_RAWIO
	19: {"kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"}, // CAP_SYS_PTRACE
	20: {"acct"},                                                                                      // CAP_SYS_PACCT
	22: {"reboot"},                                                                                    // CAP_SYS_BOOT
	23: {"get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"},                        // CAP_SYS_NICE
	25: {"clock_settime", "settimeofday", "stime"},                                                    // CAP_SYS_TIME
	26: {"vhangup"},                                                                                   // CAP_SYS_TTY_CONFIG
	24: {},                                                                                            // CAP_SYS_RESOURCE
	36: {},                                                                                            // CAP_BLOCK_SUSPEND
	38: {"perf_event_open"},                                                                           // CAP_PERFMON
	39: {"bpf"},                                                                                       // CAP_BPF
}

// personalities are the personality(2) arguments allowed: PER_LINUX,
// PER_LINUX|UNAME26, PER_LINUX32, PER_LINUX32|UNAME26 and the query.
var personalities = []uint32{0x0, 0x0008, 0x20000, 0x20008, 0xffffffff}

// cloneNamespaceFlags are the CLONE_NEW* bits clone(2) may only carry with
// CAP_SYS_ADMIN.
const cloneNamespaceFlags = 0x7E020000
