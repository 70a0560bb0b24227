package jetstream

import "errors"

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("jetstream: invalid configuration")

// ErrBundle is wrapped by the reason of a dead-lettered message whose
// bundle cannot be decompressed (unknown encoding, corrupt or too large).
var ErrBundle = errors.New("jetstream: undecodable bundle")
