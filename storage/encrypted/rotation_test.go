package encrypted_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/encrypted"
	"github.com/chatboxsdk/chatbox/storage/memory"
)

func TestRotationReadsOldKeyAndWritesNewKey(t *testing.T) {
	inner := memory.New()
	k1, k2 := newKey(t, "k1"), newKey(t, "k2")
	seed(t, wrap(t, inner, k1), "c1", "m1")

	rotated := wrap(t, inner, k2, k1)
	got, err := rotated.GetMessage(t.Context(), "c1", "m1")
	if err != nil || got.Text != "secret text c1/m1" {
		t.Fatalf("after rotation, GetMessage of data written under k1 = %q, %v", got.Text, err)
	}
	c, err := rotated.GetConversation(t.Context(), "c1")
	if err != nil || c.Title != "secret title c1" || c.Metadata["plan"] != "secret plan c1" {
		t.Fatalf("after rotation, GetConversation = %+v, %v", c, err)
	}

	seed(t, rotated, "c2", "m2")
	upd := storage.Message{ID: "m1", ConversationID: "c1", Text: "rewritten", Status: storage.MessageComplete, UpdatedAt: t0.Add(time.Minute)}
	if err := rotated.UpdateMessage(t.Context(), upd); err != nil {
		t.Fatal(err)
	}
	rawC2, _ := inner.GetConversation(t.Context(), "c2")
	rawM2, _ := inner.GetMessage(t.Context(), "c2", "m2")
	rawM1, _ := inner.GetMessage(t.Context(), "c1", "m1")
	rawC1, _ := inner.GetConversation(t.Context(), "c1")
	for what, v := range map[string]string{"new title": rawC2.Title, "new metadata": rawC2.Metadata["plan"], "new text": rawM2.Text, "rewritten text": rawM1.Text} {
		if !strings.HasPrefix(v, "v1:k2:") {
			t.Errorf("%s = %q, want written under the active key k2", what, v)
		}
	}
	if !strings.HasPrefix(rawC1.Title, "v1:k1:") {
		t.Errorf("untouched old title = %q, want still under k1", rawC1.Title)
	}

	// Once k1 is dropped, what it encrypted is an error, not ciphertext.
	withoutK1 := wrap(t, inner, k2)
	if _, err := withoutK1.GetConversation(t.Context(), "c1"); !errors.Is(err, encrypted.ErrDecrypt) || !strings.Contains(err.Error(), `"k1"`) {
		t.Errorf("reading k1 data without k1: %v, want ErrDecrypt naming the unknown key", err)
	}
	if m, err := withoutK1.GetMessage(t.Context(), "c2", "m2"); err != nil || m.Text != "secret text c2/m2" {
		t.Errorf("reading k2 data with k2 only = %q, %v", m.Text, err)
	}
}

func TestWrongKeyOrTamperingIsAnErrorNeverCiphertext(t *testing.T) {
	inner := memory.New()
	k1 := newKey(t, "k1")
	s := wrap(t, inner, k1)
	seed(t, s, "c1", "m1")
	raw, _ := inner.GetMessage(t.Context(), "c1", "m1")

	// Same id, another secret: authentication fails.
	if _, err := wrap(t, inner, newKey(t, "k1")).GetMessage(t.Context(), "c1", "m1"); !errors.Is(err, encrypted.ErrDecrypt) {
		t.Errorf("reading with another secret under the same id: %v, want ErrDecrypt", err)
	}
	body := strings.TrimPrefix(raw.Text, "v1:k1:")
	for name, stored := range map[string]string{
		"plaintext":     "hello",
		"empty":         "",
		"flipped":       "v1:k1:" + flipLast(body),
		"truncated":     raw.Text[:len(raw.Text)-10],
		"bad base64":    "v1:k1:***",
		"no key id":     "v1:",
		"other version": "v2:k1:" + body,
		"nonce only":    "v1:k1:AAAAAAAAAAAAAAAA",
	} {
		tampered := raw
		tampered.Text = stored
		if err := inner.UpdateMessage(t.Context(), tampered); err != nil {
			t.Fatal(err)
		}
		m, err := s.GetMessage(t.Context(), "c1", "m1")
		if !errors.Is(err, encrypted.ErrDecrypt) || m.Text != "" {
			t.Errorf("%s: GetMessage = %q, %v; want ErrDecrypt and no text", name, m.Text, err)
		}
	}
}

// flipLast changes the last base64 character of s.
func flipLast(s string) string {
	last := s[len(s)-1]
	repl := byte('A')
	if last == 'A' {
		repl = 'B'
	}
	return s[:len(s)-1] + string(repl)
}
