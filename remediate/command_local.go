package remediate

// Command is an OpenC2 command as JSON-shaped maps. TEMPORARY: replaced by
// respond.Command once package respond is merged.
type Command struct {
	Action    string         `json:"action"`
	Target    map[string]any `json:"target"`
	Args      map[string]any `json:"args,omitempty"`
	Actuator  map[string]any `json:"actuator,omitempty"`
	CommandID string         `json:"command_id,omitempty"`
}
