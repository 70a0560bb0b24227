package investigate

// chunkBits sets the size of the chunks a chunked store grows by (8,192
// records): growing never copies what is stored, and at most one chunk is
// partly empty.
const chunkBits = 13

// chunked is an append-only array of records in fixed-size chunks, indexed
// by uint32. Index 0 is reserved (the "none" of the linked lists) and is
// allocated by reset.
type chunked[T any] struct {
	c [][]T
	n int
}

func (s *chunked[T]) reset() {
	s.c = nil
	s.n = 0
	var zero T
	s.push(zero)
}

func (s *chunked[T]) at(i uint32) *T { return &s.c[i>>chunkBits][i&(1<<chunkBits-1)] }

func (s *chunked[T]) len() int { return s.n }

// push appends v and returns its index.
func (s *chunked[T]) push(v T) uint32 {
	if s.n>>chunkBits == len(s.c) {
		s.c = append(s.c, make([]T, 1<<chunkBits))
	}
	i := uint32(s.n)
	*s.at(i) = v
	s.n++
	return i
}
