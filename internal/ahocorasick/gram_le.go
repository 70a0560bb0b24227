//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package ahocorasick

// Scan loads 4-gram keys with native unaligned 32-bit loads, which equal
// binary.LittleEndian.Uint32 (how New keys the patterns) on these
// little-endian targets; the build fails elsewhere rather than scan wrong.
const littleEndian = true
