package badger

// GCRuns reports how many value-log GC passes the ticker has run.
func GCRuns(s *Store) int64 { return s.gcRuns.Load() }
