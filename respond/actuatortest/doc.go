// Package actuatortest is a conformance suite for respond.Actuator
// implementations. A host product (or mdrkit's simulated fleet) runs it
// from its own tests:
//
//	func TestConformance(t *testing.T) {
//		actuatortest.Run(t, func(t *testing.T) actuatortest.Fixture {
//			edr := newMyEDR(t)
//			return actuatortest.Fixture{Actuator: edr, Host: "ws1", Account: "alice", ...}
//		})
//	}
//
// It checks what OpenC2 Language Specification v1.0 and the Endpoint
// Response profile require of a consumer, and what package respond adds:
// query features (heartbeat, every feature, refusal of other arguments),
// every declared action × target pair executed on the fixture with a
// valid response, undo commands that are valid, declared and (when the
// fixture can observe state) restore the state from before the command,
// the failures the er profile requires (contain device without
// device_containment, set er:account without account_status, commands
// without the er:downstream_device the profile requires), refusal of
// undeclared pairs and unknown hosts, a cancelled context, and concurrent
// use.
package actuatortest
