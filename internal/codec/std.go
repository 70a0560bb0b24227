package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// walkStd walks s with encoding/json's tokenizer. It is always compiled so
// the equivalence test can compare it with sonic; the mdrstdjson build tag
// makes it the one Decode uses.
func walkStd(s string, v *visitor) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	// Track whether the next string token in an object is a key.
	type frame struct {
		obj       bool
		expectKey bool
	}
	var stack []frame
	afterValue := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].expectKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if len(stack) != 0 {
				return io.ErrUnexpectedEOF
			}
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				if err := v.OnObjectBegin(0); err != nil {
					return err
				}
				stack = append(stack, frame{obj: true, expectKey: true})
			case '[':
				if err := v.OnArrayBegin(0); err != nil {
					return err
				}
				stack = append(stack, frame{})
			case '}':
				stack = stack[:len(stack)-1]
				if err := v.OnObjectEnd(); err != nil {
					return err
				}
				afterValue()
			case ']':
				stack = stack[:len(stack)-1]
				if err := v.OnArrayEnd(); err != nil {
					return err
				}
				afterValue()
			}
			continue
		case string:
			if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].expectKey {
				stack[n-1].expectKey = false
				if err := v.OnObjectKey(t); err != nil {
					return err
				}
				continue
			}
			err = v.OnString(t)
		case json.Number:
			val, nerr := numberFrom(string(t))
			if nerr != nil {
				return nerr
			}
			err = v.emit(val)
		case bool:
			err = v.OnBool(t)
		case nil:
			err = v.OnNull()
		default:
			err = fmt.Errorf("unexpected token %v", tok)
		}
		if err != nil {
			return err
		}
		afterValue()
		if len(stack) == 0 {
			break
		}
	}
	// Anything but white space after the value is an error, as with sonic.
	rest, _ := io.ReadAll(dec.Buffered())
	if len(bytes.TrimSpace(rest)) != 0 || dec.More() {
		return errors.New("invalid characters after top-level value")
	}
	return nil
}
