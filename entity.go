package mdr

import (
	"fmt"
	"strings"
	"time"
)

// EntityKind is the kind of thing an Entity is.
type EntityKind uint8

// The kinds of entity the schema mappings derive and the investigation graph
// joins.
const (
	EntityUnknown EntityKind = iota
	EntityHost
	EntityUser
	EntityProcess
	EntityFile
	EntityNetworkEndpoint // an IP address and optional port
	EntityDomain
	EntityRegistryKey
	EntityService
	EntityAccount // a security principal other than an interactive user (SID, machine account)
	EntityScheduledTask
	EntityPipe
	EntityShare
	EntityScript // a script block or command payload run by a script host (PowerShell)
)

var entityKindNames = [...]string{"unknown", "host", "user", "process", "file", "network_endpoint", "domain", "registry_key", "service", "account", "scheduled_task", "pipe", "share", "script"}

func (k EntityKind) String() string {
	if int(k) < len(entityKindNames) {
		return entityKindNames[k]
	}
	return fmt.Sprintf("entity(%d)", uint8(k))
}

// ParseEntityKind reads an entity kind name as printed by String.
func ParseEntityKind(s string) (EntityKind, error) {
	for i, n := range entityKindNames {
		if strings.EqualFold(n, s) {
			return EntityKind(i), nil
		}
	}
	return EntityUnknown, fmt.Errorf("%w: unknown entity kind %q", ErrInvalid, s)
}

// MarshalText implements encoding.TextMarshaler.
func (k EntityKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *EntityKind) UnmarshalText(b []byte) error {
	v, err := ParseEntityKind(string(b))
	*k = v
	return err
}

// Entity is a thing events are about: a host, user, process, file, network
// endpoint, domain, registry key, service, account, scheduled task.
//
// ID identifies the entity across events and is built by the schema package
// from the kind and its identifying attributes (for a process its
// ProcessGuid, else host + pid + start time), so the same thing seen in two
// events has the same ID.
type Entity struct {
	Kind  EntityKind        `json:"kind"`
	ID    string            `json:"id"`
	Name  string            `json:"name,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"`
}

// RelationKind is the verb of a Relation.
type RelationKind uint8

// The relations schema mappings derive.
const (
	RelUnknown             RelationKind = iota
	RelSpawned                          // process → process
	RelWroteFile                        // process → file (created or written)
	RelDeletedFile                      // process → file
	RelRenamedFile                      // process → file (To is the new name)
	RelLoadedImage                      // process → file (DLL, driver)
	RelConnected                        // process → network endpoint
	RelResolved                         // process → domain
	RelSetRegistry                      // process → registry key
	RelDeletedRegistry                  // process → registry key
	RelOpenedProcess                    // process → process (access mask in Attrs)
	RelCreatedRemoteThread              // process → process
	RelLoggedOn                         // user → host (source IP in Attrs)
	RelLogonFailed                      // user → host
	RelLoggedOff                        // user → host
	RelInstalledService                 // process or host → service
	RelCreatedTask                      // process or host → scheduled task
	RelCreatedAccount                   // user → account
	RelAddedToGroup                     // user → account (group)
	RelAccessedShare                    // user → share
	RelAccessedObject                   // process or user → file or registry key
	RelRanOn                            // process → host
	RelRanAs                            // process → user
	RelExecutedScript                   // process → file or script block
	RelConnectedPipe                    // process → pipe
	RelReadFile                         // process → file
	RelTerminated                       // process ended
	RelExecuted                         // process → file (the image the process runs)
	RelRenamedRegistry                  // process → registry key (To is the new name, the old one in Attrs)
	RelCreatedPipe                      // process → pipe
	RelUsedCredentials                  // process or user → user (explicit credentials, Security 4648)
	RelGrantedPrivileges                // user → host (special privileges at logon, Security 4672)
	RelTampered                         // process → file (its image was replaced or hollowed, Sysmon 25)
	RelAuthenticated                    // user → host (credentials validated by a domain controller: Kerberos, NTLM; status in Attrs)
	RelRemovedFromGroup                 // user → account (group)
	RelDeletedAccount                   // user → user (the account deleted)
	RelClearedLog                       // user → host (an event log was cleared)
)

var relationNames = [...]string{"unknown", "spawned", "wrote_file", "deleted_file", "renamed_file", "loaded_image",
	"connected", "resolved", "set_registry", "deleted_registry", "opened_process", "created_remote_thread",
	"logged_on", "logon_failed", "logged_off", "installed_service", "created_task", "created_account",
	"added_to_group", "accessed_share", "accessed_object", "ran_on", "ran_as", "executed_script",
	"connected_pipe", "read_file", "terminated", "executed", "renamed_registry", "created_pipe",
	"used_credentials", "granted_privileges", "tampered", "authenticated", "removed_from_group", "deleted_account", "cleared_log"}

func (k RelationKind) String() string {
	if int(k) < len(relationNames) {
		return relationNames[k]
	}
	return fmt.Sprintf("relation(%d)", uint8(k))
}

// ParseRelationKind reads a relation name as printed by String.
func ParseRelationKind(s string) (RelationKind, error) {
	for i, n := range relationNames {
		if strings.EqualFold(n, s) {
			return RelationKind(i), nil
		}
	}
	return RelUnknown, fmt.Errorf("%w: unknown relation %q", ErrInvalid, s)
}

// MarshalText implements encoding.TextMarshaler.
func (k RelationKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *RelationKind) UnmarshalText(b []byte) error {
	v, err := ParseRelationKind(string(b))
	*k = v
	return err
}

// Relation is one edge of the provenance graph: From did Kind to To at Time,
// as seen in event EventID.
type Relation struct {
	Kind    RelationKind      `json:"kind"`
	From    string            `json:"from"` // Entity.ID
	To      string            `json:"to"`   // Entity.ID
	Time    time.Time         `json:"time"`
	EventID string            `json:"event_id,omitempty"`
	Attrs   map[string]string `json:"attrs,omitempty"`
}
