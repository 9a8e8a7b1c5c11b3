package kernels

// RoPEHeads is the geometry of a [RoPE] move: a fused projection qkv
// [B·T, Width] whose rows hold S = len(Cols) heads of HeadDim values each
// (head j of a row starts at column Cols[j]), and the head layout
// [B, S, T, HeadDim]. Heads 0…Rotated−1 (queries and keys) rotate, the
// others (values) are copied.
type RoPEHeads struct {
	B, T, HeadDim, Width int
	Cols                 []int // [S] first column of each head in a qkv row
	Rotated              int
}

// valid reports whether the geometry fits qkv, heads and the tables.
func (m RoPEHeads) valid(qkv, heads, cos, sin int) bool {
	S, hd := len(m.Cols), m.HeadDim
	if m.B <= 0 || m.T <= 0 || hd <= 0 || S == 0 || m.Rotated < 0 || m.Rotated > S || cos != sin || cos%m.T != 0 {
		return false
	}
	if half := cos / m.T; half == 0 || 2*half > hd {
		return false
	}
	for _, c := range m.Cols {
		if c < 0 || c+hd > m.Width {
			return false
		}
	}
	return qkv >= m.B*m.T*m.Width && heads >= m.B*S*m.T*hd
}

// RoPE moves qkv into heads (back = false) or a heads gradient into qkv
// (back = true), applying rotary position embeddings to the rotated heads
// with the NeoX/Llama rotate_half pairing: with h = len(cos)/T and the
// tables cos, sin [T, h] of the angles t·θ_i, position t of head x,
//
//	forward  x'_i = x_i·cos − x_{i+h}·sin,  x'_{i+h} = x_{i+h}·cos + x_i·sin   (i < h)
//	back     g_i = y_i·cos + y_{i+h}·sin,   g_{i+h} = y_{i+h}·cos − y_i·sin
//
// (the transposed rotation); dims 2h…HeadDim−1 and unrotated heads are
// copied. back overwrites every head column of qkv. float32 runs the C
// kernel unless pure Go. A geometry that does not fit the slices does
// nothing (callers check shapes first).
func RoPE[T Float](qkv, heads, cos, sin []T, m RoPEHeads, back bool) {
	if !m.valid(len(qkv), len(heads), len(cos), len(sin)) {
		return
	}
	if q32, ok := any(qkv).([]float32); ok {
		rope32(q32, any(heads).([]float32), any(cos).([]float32), any(sin).([]float32), m, back)
		return
	}
	ropeGo(qkv, heads, cos, sin, m, back)
}

// ropeGo is the pure-Go RoPE.
func ropeGo[T Float](qkv, heads, cos, sin []T, m RoPEHeads, back bool) {
	Tn, hd, S := m.T, m.HeadDim, len(m.Cols)
	half := len(cos) / Tn
	for b := 0; b < m.B; b++ {
		for t := 0; t < Tn; t++ {
			row := qkv[(b*Tn+t)*m.Width : (b*Tn+t+1)*m.Width]
			cs, sn := cos[t*half:(t+1)*half], sin[t*half:(t+1)*half]
			for j, c := range m.Cols {
				x := row[c : c+hd]
				y := heads[((b*S+j)*Tn+t)*hd : ((b*S+j)*Tn+t+1)*hd]
				from, to := x, y
				if back {
					from, to = y, x
				}
				if j >= m.Rotated {
					copy(to, from)
					continue
				}
				copy(to[2*half:], from[2*half:])
				lo, hi := from[:half], from[half:2*half]
				olo, ohi := to[:half], to[half:2*half]
				for i := range half {
					c, s := cs[i], sn[i]
					if back {
						olo[i] = lo[i]*c + hi[i]*s
						ohi[i] = hi[i]*c - lo[i]*s
					} else {
						olo[i] = lo[i]*c - hi[i]*s
						ohi[i] = hi[i]*c + lo[i]*s
					}
				}
			}
		}
	}
}
