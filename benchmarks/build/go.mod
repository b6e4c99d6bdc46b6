module github.com/berthlabs/berth/benchmarks/build

go 1.26.0

replace github.com/berthlabs/berth => ../..

require (
	github.com/berthlabs/berth v0.0.0-00010101000000-000000000000
	github.com/opencontainers/image-spec v1.1.1
)

require (
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
