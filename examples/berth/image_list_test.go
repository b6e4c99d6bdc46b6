package main

import (
	"archive/tar"
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth"
)

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var fakeCreated = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeImage imports a one-file rootfs into a store of its own, as any
// user can, named app:1 and app:2.
func fakeImage(t *testing.T) *berth.Image {
	t.Helper()
	s, err := berth.OpenImageStore(t.Context(), t.TempDir())
	require.NoError(t, err)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: 3, ModTime: fakeCreated}))
	_, err = tw.Write([]byte("hi\n"))
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	created := fakeCreated
	info, err := s.ImportRootfs(t.Context(), &buf, &berth.RootfsOptions{Names: []string{"app:1", "app:2"},
		Created: &created, Comment: "imported\tby test", Changes: []string{`CMD ["/hello"]`}})
	require.NoError(t, err)
	return info.Image
}

func TestHumanSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0B"}, {999, "999B"}, {1000, "1kB"}, {1024, "1.02kB"}, {4_260_000, "4.26MB"},
		{999_999, "1MB"}, {3_000_000_000, "3GB"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, humanSize(tt.n), "%d", tt.n)
	}
}

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "Less than a second"}, {time.Second, "1 second"}, {30 * time.Second, "30 seconds"},
		{time.Minute, "About a minute"}, {5 * time.Minute, "5 minutes"}, {time.Hour, "About an hour"},
		{5 * time.Hour, "5 hours"}, {72 * time.Hour, "3 days"}, {21 * 24 * time.Hour, "3 weeks"},
		{90 * 24 * time.Hour, "3 months"}, {56 * 365 * 24 * time.Hour, "56 years"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, humanDuration(tt.d), "%v", tt.d)
	}
}

func TestImageRows(t *testing.T) {
	img := fakeImage(t)
	list := []berth.ImageInfo{{Image: img, Names: []string{"docker.io/library/app:1", "example.com/x/y:2"}}, {Image: img}}
	now := fakeCreated.Add(3 * time.Hour)
	tests := []struct {
		name    string
		pos     []string
		filters []string
		want    []string // Repository:Tag
	}{
		{"all", nil, nil, []string{"app:1", "example.com/x/y:2", "<none>:<none>"}},
		{"by repository", []string{"app"}, nil, []string{"app:1"}},
		{"by normalised repository", []string{"docker.io/library/app"}, nil, []string{"app:1"}},
		{"by repository and tag", []string{"example.com/x/y:2"}, nil, []string{"example.com/x/y:2"}},
		{"wrong tag", []string{"app:2"}, nil, nil},
		{"dangling", nil, []string{"dangling=true"}, []string{"<none>:<none>"}},
		{"not dangling", nil, []string{"dangling=false"}, []string{"app:1", "example.com/x/y:2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := imageRows(list, tt.pos, &imagesOptions{filters: tt.filters}, now)
			require.NoError(t, err)
			var got []string
			for _, r := range rows {
				got = append(got, r.Repository+":"+r.Tag)
			}
			assert.Equal(t, tt.want, got)
		})
	}
	rows, err := imageRows(list[:1], nil, &imagesOptions{}, now)
	require.NoError(t, err)
	assert.Equal(t, imageRow{Containers: "N/A", CreatedAt: "2025-01-02 03:04:05 +0000 UTC", CreatedSince: "3 hours ago",
		Digest: img.Digest().String(), ID: img.ID().Encoded()[:12], Repository: "app", Tag: "1", SharedSize: "N/A",
		Size: humanSize(img.Size()), UniqueSize: "N/A", VirtualSize: humanSize(img.Size())}, rows[0])
	rows, err = imageRows(list[:1], nil, &imagesOptions{noTrunc: true}, now)
	require.NoError(t, err)
	assert.Equal(t, img.ID().String(), rows[0].ID)
	_, err = imageRows(list, nil, &imagesOptions{filters: []string{"label=x"}}, now)
	assert.Error(t, err, "unsupported filters are refused, not ignored")
}

func TestImagesPrint(t *testing.T) {
	rows := []imageRow{{Repository: "app", Tag: "1", ID: "0123456789ab", CreatedSince: "2 days ago", Size: "1MB", Digest: "sha256:d"}}
	var out bytes.Buffer
	require.NoError(t, (&imagesOptions{}).print(&out, rows))
	assert.Equal(t, "REPOSITORY   TAG   IMAGE ID       CREATED      SIZE\napp          1     0123456789ab   2 days ago   1MB\n", out.String())
	out.Reset()
	require.NoError(t, (&imagesOptions{digests: true}).print(&out, rows))
	assert.Contains(t, out.String(), "DIGEST")
	assert.Contains(t, out.String(), "sha256:d")
	out.Reset()
	require.NoError(t, (&imagesOptions{format: "{{.ID}} {{json .Tag}}"}).print(&out, rows))
	assert.Equal(t, "0123456789ab \"1\"\n", out.String())
	assert.Error(t, (&imagesOptions{format: "{{.Nope"}).print(&out, rows))
}

func TestHistoryRows(t *testing.T) {
	img := fakeImage(t)
	now := fakeCreated.Add(48 * time.Hour)
	rows := historyRows(img, true, false, now)
	require.Len(t, rows, 1)
	assert.Equal(t, img.ID().Encoded()[:12], rows[0].ID)
	assert.Equal(t, "2 days ago", rows[0].CreatedSince)
	assert.Equal(t, humanSize(img.Layers()[0].Size), rows[0].Size)
	assert.Equal(t, "imported\tby test", rows[0].Comment)
	raw := historyRows(img, false, true, now)
	assert.Equal(t, img.ID().String(), raw[0].ID)
	assert.Equal(t, "2025-01-02T03:04:05Z", raw[0].CreatedAt)
	var out bytes.Buffer
	code, err := printHistory(&out, rows, false, "")
	require.NoError(t, err)
	assert.Equal(t, 0, code)
	assert.True(t, strings.HasPrefix(out.String(), "IMAGE "), out.String())
}
