package shard

// Info describes one written shard file.
type Info struct {
	File   string // base name
	Rows   int64  // documents
	Tokens int64
	SHA256 string // hex
}
