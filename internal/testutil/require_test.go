package testutil

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestRootGate(t *testing.T) {
	tests := []struct {
		name string
		euid int
		env  map[string]string
		want gate
	}{
		{"root", 0, nil, gatePass},
		{"root in CI", 0, map[string]string{"CI": "true"}, gatePass},
		{"user", 1000, nil, gateSkip},
		{"user in CI", 1000, map[string]string{"CI": "true"}, gateFail},
		{"user with BERTH_TEST_ROOT=1", 1000, map[string]string{"BERTH_TEST_ROOT": "1"}, gateFail},
		{"user with BERTH_TEST_ROOT=0", 1000, map[string]string{"BERTH_TEST_ROOT": "0"}, gateSkip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := rootGate(tt.euid, func(k string) string { return tt.env[k] })
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestExpected(t *testing.T) {
	assert.True(t, expected("overlay", "veth, overlay"))
	assert.True(t, expected("cgroup2:memory", "all"))
	assert.False(t, expected("overlay", ""))
	assert.False(t, expected("overlay", "overlayfs"))
}

func TestProbeNames(t *testing.T) {
	for _, name := range []string{"overlay", "userns", "netns", "cgroup2", "cgroup1:memory", "cgroup2:hugetlb", "tool:go"} {
		_, _, known := probe(name)
		assert.True(t, known, name)
	}
	_, _, known := probe("no-such-feature")
	assert.False(t, known)
	assert.True(t, HasFeature("tool:go"), "the tests run with go on PATH")
	assert.False(t, HasFeature("tool:berth-no-such-tool"))
	assert.False(t, HasFeature("cgroup1:no-such-controller"))
}
