package cgroups

// Event is a snapshot of a group's memory event counters, sent by
// [Group.Events] each time they change. The counters only grow.
type Event struct {
	// Low, High and Max count the times usage went below memory.low
	// protection, over memory.high, and hit memory.max ("low", "high" and
	// "max" in v2 memory.events). v1 reports none of them: they are 0.
	Low, High, Max uint64
	// OOM counts the times the limit invoked the OOM killer. v2 reads it
	// from memory.events ("oom", counted since the group was made); v1
	// counts the memory.oom_control notifications received since Events
	// was called.
	OOM uint64
	// OOMKill counts the tasks the OOM killer killed in the group, since
	// the group was made (v2 memory.events "oom_kill", v1 memory.oom_control
	// "oom_kill", kernel 4.13+).
	OOMKill uint64
}
