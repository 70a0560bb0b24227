package jetstream

import "errors"

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("jetstream: invalid configuration")
