package sim

import (
	"strings"

	"github.com/mdrkit/mdr/schema"
)

// EntityID returns the id package schema gives the entity an artifact is
// in the graph built from the fleet's telemetry (schema.FileID,
// schema.RegistryID, …), so that a test can compare an investigation's
// scope or a remediation plan with a run's Truth. A group membership maps
// to its group (schema.GroupID("Builtin", group)); containment has no
// entity ("").
func (a Artifact) EntityID() string {
	switch a.Kind {
	case KindProcess:
		return schema.ProcessGUIDID(a.Key)
	case KindFile:
		return schema.FileID(a.Host, a.Key)
	case KindRegistry:
		return schema.RegistryID(a.Key)
	case KindService:
		return schema.ServiceID(a.Host, a.Key)
	case KindTask:
		return schema.TaskID(a.Host, a.Key)
	case KindAccount:
		short, _, _ := strings.Cut(a.Host, ".")
		return schema.UserID(short, a.Key)
	case KindGroupMember:
		g, _, _ := strings.Cut(a.Key, `\`)
		return schema.GroupID("Builtin", g)
	}
	return ""
}
