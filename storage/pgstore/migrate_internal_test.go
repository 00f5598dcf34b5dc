package pgstore

import (
	"regexp"
	"testing"
)

// TestMigrationsNeverDestroy reads every embedded migration: none drops,
// truncates, deletes or rewrites what a previous one created, so
// migrating never loses data and the previous release keeps working on a
// migrated schema.
func TestMigrationsNeverDestroy(t *testing.T) {
	destructive := regexp.MustCompile(`(?i)\b(DROP|TRUNCATE|DELETE|UPDATE|RENAME|ALTER\s+COLUMN|TYPE)\b`)
	// Comments, and the rule that a conversation's messages go with it.
	comment := regexp.MustCompile(`--[^\n]*|(?i)ON\s+DELETE\s+CASCADE`)
	if len(migrations) < 2 {
		t.Fatalf("%d migrations embedded, want at least 2", len(migrations))
	}
	for _, m := range migrations {
		if loc := destructive.FindStringIndex(comment.ReplaceAllString(m.sql, "")); loc != nil {
			t.Errorf("migration %d (%s) holds %q", m.version, m.name, comment.ReplaceAllString(m.sql, "")[loc[0]:loc[1]])
		}
	}
}
