module github.com/nsgo/nsgo/examples/bench

go 1.26.8

require (
	github.com/containernetworking/plugins v1.10.0
	github.com/nsgo/nsgo v0.0.0
	golang.org/x/sys v0.50.0
)

replace github.com/nsgo/nsgo => ../..
