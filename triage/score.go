package triage

import (
	"math"
	"strconv"

	"github.com/mdrkit/mdr"
)

// Part is one named part of a score (mdr.ScorePart): Value is what it adds
// to the total (negative to take away), Detail says why in words.
type Part = mdr.ScorePart

// Score is the score of an alert or an incident: its named parts, their
// total on 0–100 and the level of that total.
//
// Parts combine by addition: Total = min(100, max(0, Σ Part.Value)) rounded
// to two decimals, and
// Level = LevelOf(Total). A part that acts as a factor (criticality,
// rarity, feedback) is stored as the amount it added or removed, with the
// factor in its Detail, so Total can be recomputed from Parts alone (see
// Recompute).
type Score struct {
	Total float64      `json:"total"`
	Level mdr.Severity `json:"level"`
	Parts []Part       `json:"parts"`
}

// Recompute returns the total of parts as Score documents it (rounded to
// two decimals, as every part is).
func Recompute(parts []Part) float64 {
	var s float64
	for _, p := range parts {
		s += p.Value
	}
	return round2(clamp(s))
}

func clamp(v float64) float64 {
	switch {
	case math.IsNaN(v) || v < 0:
		return 0
	case v > 100:
		return 100
	}
	return v
}

// LevelOf maps a total on 0–100 to a level: critical from 80, high from 55,
// medium from 25, low from 10, informational below.
func LevelOf(total float64) mdr.Severity {
	switch {
	case total >= 80:
		return mdr.SeverityCritical
	case total >= 55:
		return mdr.SeverityHigh
	case total >= 25:
		return mdr.SeverityMedium
	case total >= 10:
		return mdr.SeverityLow
	}
	return mdr.SeverityInformational
}

func newScore(parts []Part) Score {
	t := Recompute(parts)
	return Score{Total: t, Level: LevelOf(t), Parts: parts}
}

// factorPart is a part that multiplies the running total by f.
func factorPart(name string, sofar, f float64, detail string) Part {
	return Part{Name: name, Value: round2(sofar * (f - 1)), Detail: "×" + strconv.FormatFloat(f, 'f', 2, 64) + ": " + detail}
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }
