package natsstore

// Crash cuts the store's connection as a killed process would: its lease
// is not released, and lapses.
func (s *Store) Crash() { s.nc.Close() }
