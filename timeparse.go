package mdr

import (
	"errors"
	"math"
	"strconv"
	"strings"
	"time"
)

var errTime = errors.New("unrecognised time")

// TimeOf converts a field value to a time: strings in the formats ParseTime
// accepts, numbers as epoch seconds, milliseconds, microseconds or
// nanoseconds (chosen by magnitude).
func TimeOf(v Value) (time.Time, error) {
	switch v.Kind() {
	case KindString:
		s, _ := v.Str()
		return ParseTime(s)
	case KindInt:
		i, _ := v.Int()
		return epoch(float64(i), i)
	case KindFloat:
		f, _ := v.Float()
		return epoch(f, 0)
	}
	return time.Time{}, errTime
}

func epoch(f float64, i int64) (time.Time, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return time.Time{}, errTime
	}
	exact := i != 0 || f == 0
	switch {
	case f < 1e11: // seconds (until the year 5138)
		// float64 carries ~16 digits: round the fraction to microseconds
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e6))*1e3).UTC(), nil
	case f < 1e14:
		if exact {
			return time.UnixMilli(i).UTC(), nil
		}
		return time.UnixMicro(int64(math.Round(f * 1e3))).UTC(), nil
	case f < 1e17:
		if exact {
			return time.UnixMicro(i).UTC(), nil
		}
		return time.UnixMicro(int64(f)).UTC(), nil
	case f < 9.2e18:
		if exact {
			return time.Unix(0, i).UTC(), nil
		}
		return time.Unix(0, int64(f)).UTC(), nil
	}
	return time.Time{}, errTime
}

// ParseTime parses the timestamp formats found in security logs:
//
//   - RFC 3339 with or without fractional seconds, with Z or a ±hh:mm offset
//     ("2025-12-06T21:11:02.649150800Z");
//   - the same with a space instead of T, and without a zone, read as UTC
//     (Sysmon UtcTime "2025-12-06 21:11:02.632");
//   - epoch seconds, milliseconds, microseconds or nanoseconds written as a
//     decimal string, with an optional fraction ("1604996384.965").
//
// Surrounding white space is ignored. Anything else is an error.
func ParseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ' || s[10] == 't') && s[13] == ':' && s[16] == ':' {
		return parseISO(s)
	}
	if s != "" && (s[0] >= '0' && s[0] <= '9') {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return epoch(float64(i), i)
		}
		if whole, frac, ok := strings.Cut(s, "."); ok && len(whole) <= 11 {
			sec, err1 := strconv.ParseInt(whole, 10, 64)
			ns, ok2 := digits(frac)
			if err1 == nil && ok2 && frac != "" && len(frac) <= 9 {
				for i := len(frac); i < 9; i++ {
					ns *= 10
				}
				return time.Unix(sec, int64(ns)).UTC(), nil
			}
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			return epoch(f, 0)
		}
	}
	return time.Time{}, errTime
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func parseISO(s string) (time.Time, error) {
	year, ok1 := digits(s[0:4])
	mon, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hh, ok4 := digits(s[11:13])
	mm, ok5 := digits(s[14:16])
	ss, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, errTime
	}
	rest := s[19:]
	nsec := 0
	if rest != "" && (rest[0] == '.' || rest[0] == ',') {
		i := 1
		scale := 100000000
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			nsec += int(rest[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == 1 {
			return time.Time{}, errTime
		}
		rest = rest[i:]
	}
	loc := time.UTC
	switch {
	case rest == "" || rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':',
		len(rest) == 5 && (rest[0] == '+' || rest[0] == '-'):
		oh, ok1 := digits(rest[1:3])
		om, ok2 := digits(rest[len(rest)-2:])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, errTime
		}
		off := oh*3600 + om*60
		if rest[0] == '-' {
			off = -off
		}
		t := time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, time.UTC).Add(-time.Duration(off) * time.Second)
		return t, nil
	default:
		return time.Time{}, errTime
	}
	t := time.Date(year, time.Month(mon), day, hh, mm, ss, nsec, loc)
	if t.Day() != day { // 2025-02-31 normalises to March: reject
		return time.Time{}, errTime
	}
	return t, nil
}
