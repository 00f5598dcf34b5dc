package encrypted_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
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
	if err != nil || got.Text != "secret text c1/m1" || !reflect.DeepEqual(got.Parts, secretParts("c1/m1")) {
		t.Fatalf("after rotation, GetMessage of data written under k1 = %q, %+v, %v", got.Text, got.Parts, err)
	}
	c, err := rotated.GetConversation(t.Context(), "c1")
	if err != nil || c.Title != "secret title c1" || c.Metadata["plan"] != "secret plan c1" {
		t.Fatalf("after rotation, GetConversation = %+v, %v", c, err)
	}

	seed(t, rotated, "c2", "m2")
	upd := storage.Message{ID: "m1", ConversationID: "c1", Text: "rewritten", Parts: secretParts("rewritten"),
		Status: storage.MessageComplete, UpdatedAt: t0.Add(time.Minute)}
	if err := rotated.UpdateMessage(t.Context(), upd); err != nil {
		t.Fatal(err)
	}
	rawC2, _ := inner.GetConversation(t.Context(), "c2")
	rawM2, _ := inner.GetMessage(t.Context(), "c2", "m2")
	rawM1, _ := inner.GetMessage(t.Context(), "c1", "m1")
	rawC1, _ := inner.GetConversation(t.Context(), "c1")
	written := map[string]string{"new title": rawC2.Title, "new metadata": rawC2.Metadata["plan"], "new text": rawM2.Text, "rewritten text": rawM1.Text}
	for i := range rawM1.Parts {
		written[fmt.Sprintf("rewritten part %d text", i)] = rawM1.Parts[i].Text
		written[fmt.Sprintf("rewritten part %d arguments", i)] = rawM1.Parts[i].Arguments
		written[fmt.Sprintf("new part %d file name", i)] = rawM2.Parts[i].FileName
	}
	for what, v := range written {
		if !strings.HasPrefix(v, "v1:k2:") {
			t.Errorf("%s = %q, want written under the active key k2", what, v)
		}
	}
	if m, err := rotated.GetMessage(t.Context(), "c1", "m1"); err != nil || !reflect.DeepEqual(m.Parts, secretParts("rewritten")) {
		t.Errorf("rewritten parts read back as %+v, %v", m.Parts, err)
	}
	if !strings.HasPrefix(rawC1.Title, "v1:k1:") {
		t.Errorf("untouched old title = %q, want still under k1", rawC1.Title)
	}

	// Once k1 is dropped, what it encrypted is an error, not ciphertext.
	withoutK1 := wrap(t, inner, k2)
	if _, err := withoutK1.GetConversation(t.Context(), "c1"); !errors.Is(err, encrypted.ErrDecrypt) || !strings.Contains(err.Error(), `"k1"`) {
		t.Errorf("reading k1 data without k1: %v, want ErrDecrypt naming the unknown key", err)
	}
	if m, err := withoutK1.GetMessage(t.Context(), "c2", "m2"); err != nil || m.Text != "secret text c2/m2" || !reflect.DeepEqual(m.Parts, secretParts("c2/m2")) {
		t.Errorf("reading k2 data with k2 only = %q, %+v, %v", m.Text, m.Parts, err)
	}
	// A message whose text is under k2 but a part still under k1 is an
	// error too.
	mixed := rawM2
	mixed.Parts = slices.Clone(rawM2.Parts)
	mixed.Parts[2] = sealedParts(t, k1, "c2", "m2", secretParts("c2/m2"))[2]
	if err := inner.UpdateMessage(t.Context(), mixed); err != nil {
		t.Fatal(err)
	}
	if m, err := withoutK1.GetMessage(t.Context(), "c2", "m2"); !errors.Is(err, encrypted.ErrDecrypt) || !strings.Contains(err.Error(), `"k1"`) || m.Parts != nil {
		t.Errorf("reading a part under k1 without k1: %d parts, %v; want ErrDecrypt naming the unknown key", len(m.Parts), err)
	}
	if m, err := rotated.GetMessage(t.Context(), "c2", "m2"); err != nil || !reflect.DeepEqual(m.Parts, secretParts("c2/m2")) {
		t.Errorf("reading parts under k1 and k2 with both keys = %+v, %v", m.Parts, err)
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

	// The same for the sealed fields of a part, empty values included.
	for name, tamper := range map[string]func(p *storage.Part){
		"blanked text":      func(p *storage.Part) { p.Text = "" },
		"blanked signature": func(p *storage.Part) { p.Signature = "" },
		"plain arguments":   func(p *storage.Part) { p.Arguments = `{"q": 1}` },
		"flipped file name": func(p *storage.Part) { p.FileName = "v1:k1:" + flipMiddle(strings.TrimPrefix(p.FileName, "v1:k1:")) },
	} {
		for i := range raw.Parts {
			tampered := raw
			tampered.Parts = slices.Clone(raw.Parts)
			tamper(&tampered.Parts[i])
			if err := inner.UpdateMessage(t.Context(), tampered); err != nil {
				t.Fatal(err)
			}
			m, err := s.GetMessage(t.Context(), "c1", "m1")
			if !errors.Is(err, encrypted.ErrDecrypt) || m.Parts != nil || m.Text != "" {
				t.Errorf("part %d with a %s: GetMessage = %q, %d parts, %v; want ErrDecrypt and nothing", i, name, m.Text, len(m.Parts), err)
			}
		}
	}
}

// flipMiddle changes the middle base64 character of s, which, unlike the
// last one, never holds only padding bits.
func flipMiddle(s string) string {
	i := len(s) / 2
	repl := byte('A')
	if s[i] == 'A' {
		repl = 'B'
	}
	return s[:i] + string(repl) + s[i+1:]
}

// sealedParts returns parts as key seals them for message msgID of
// conversation convID, by writing them through a wrapper of a scratch
// store.
func sealedParts(t *testing.T, key encrypted.Key, convID, msgID string, parts []storage.Part) []storage.Part {
	t.Helper()
	scratch := memory.New()
	s := wrap(t, scratch, key)
	if err := s.CreateConversation(t.Context(), storage.Conversation{ID: convID, UserID: "scratch", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessage(t.Context(), storage.Message{ID: msgID, ConversationID: convID, Role: storage.RoleAssistant,
		Parts: parts, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	m, err := scratch.GetMessage(t.Context(), convID, msgID)
	if err != nil {
		t.Fatal(err)
	}
	return m.Parts
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
