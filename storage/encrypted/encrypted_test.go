package encrypted_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/chatboxsdk/chatbox/storage"
	"github.com/chatboxsdk/chatbox/storage/encrypted"
	"github.com/chatboxsdk/chatbox/storage/memory"
	"github.com/chatboxsdk/chatbox/storage/storagetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newKey(t testing.TB, id string) encrypted.Key {
	t.Helper()
	secret := make([]byte, encrypted.KeySize)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	return encrypted.Key{ID: id, Secret: secret}
}

func wrap(t testing.TB, inner storage.Store, active encrypted.Key, older ...encrypted.Key) *encrypted.Store {
	t.Helper()
	s, err := encrypted.New(inner, active, older...)
	if err != nil {
		t.Fatalf("encrypted.New: %v", err)
	}
	return s
}

func TestConformanceOverMemory(t *testing.T) {
	key := newKey(t, "k1")
	storagetest.Run(t, func(t *testing.T) storage.Store { return wrap(t, memory.New(), key) })
}

var t0 = time.Date(2031, 1, 2, 3, 4, 5, 0, time.UTC)

func TestNewRefusesBadKeysAndReportsEveryProblem(t *testing.T) {
	good := newKey(t, "good")
	text := encrypted.Key{ID: "text", Secret: []byte("my-super-secret-key-0123456789ab")}
	cases := []struct {
		name string
		key  encrypted.Key
		want string
	}{
		{"short", encrypted.Key{ID: "short", Secret: make([]byte, 16)}, "16 bytes"},
		{"long", encrypted.Key{ID: "long", Secret: make([]byte, 64)}, "64 bytes"},
		{"zero", encrypted.Key{ID: "zero", Secret: make([]byte, 32)}, "repeated"},
		{"byte", encrypted.Key{ID: "byte", Secret: []byte(strings.Repeat("\xa5", 32))}, "repeated"},
		{"pattern", encrypted.Key{ID: "pattern", Secret: []byte(strings.Repeat("\x01\x02\x03\xff", 8))}, "repeated"},
		{"text", text, "printable text"},
		{"badid", encrypted.Key{ID: "a:b", Secret: newKey(t, "x").Secret}, "character"},
		{"noid", encrypted.Key{ID: "", Secret: newKey(t, "x").Secret}, "key id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := encrypted.New(memory.New(), tc.key)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New with a %s key: %v, want an error mentioning %q", tc.name, err, tc.want)
			}
			if strings.Contains(err.Error(), string(tc.key.Secret)) && len(tc.key.Secret) > 0 && tc.name == "text" {
				t.Errorf("error quotes the secret: %v", err)
			}
		})
	}
	t.Run("AllAtOnce", func(t *testing.T) {
		dup := good
		dup.ID = "same-secret"
		_, err := encrypted.New(nil, cases[0].key, cases[2].key, good, good, dup)
		if err == nil {
			t.Fatal("New accepted a nil inner store and bad keys")
		}
		for _, want := range []string{"nil inner", "16 bytes", "repeated", `"good" is used twice`, "same secret"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
	t.Run("GoodKeyIsAccepted", func(t *testing.T) {
		if _, err := encrypted.New(memory.New(), good, newKey(t, "old")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestParseKeyAcceptsBase64Forms(t *testing.T) {
	for _, enc := range []string{
		"JIaUzz0xLaq/e+Wrb+I1Wa5EIVbojjMJSYBIqczlVjM=",
		"JIaUzz0xLaq/e+Wrb+I1Wa5EIVbojjMJSYBIqczlVjM",
		" JIaUzz0xLaq/e+Wrb+I1Wa5EIVbojjMJSYBIqczlVjM=\n",
	} {
		k, err := encrypted.ParseKey("k1", enc)
		if err != nil || len(k.Secret) != 32 || k.ID != "k1" {
			t.Errorf("ParseKey(%q) = %d bytes, %v", enc, len(k.Secret), err)
		}
		if _, err := encrypted.New(memory.New(), k); err != nil {
			t.Errorf("New with a parsed key: %v", err)
		}
	}
	if _, err := encrypted.ParseKey("k1", "not base64!"); err == nil {
		t.Error("ParseKey accepted a non-base64 string")
	}
}

// secretParts returns parts of every kind whose sealed fields all hold
// "secret" and whose clear fields never do.
func secretParts(tag string) []storage.Part {
	return []storage.Part{
		{Kind: storage.PartReasoning, Text: "secret reasoning " + tag, Signature: "secret signature " + tag},
		{Kind: storage.PartToolCall, CallID: "call-1", Name: "lookup", Arguments: `{"q": "secret arguments ` + tag + `"}`,
			Approval: storage.ApprovalPending, ApprovalExpiresAt: t0.Add(time.Hour), ApprovedBy: "bob"},
		{Kind: storage.PartToolResult, CallID: "call-1", Name: "lookup", Text: "secret result " + tag, IsError: true, ErrorCode: "timeout"},
		{Kind: storage.PartFile, FileID: "file-1", FileName: "secret file " + tag + ".pdf", MediaType: "application/pdf"},
		{Kind: storage.PartText, Text: "secret answer " + tag},
	}
}

// seed writes a conversation and a message with secretParts through s.
func seed(t *testing.T, s storage.Store, convID, msgID string) {
	t.Helper()
	c := storage.Conversation{ID: convID, UserID: "alice", Title: "secret title " + convID, Status: storage.StatusActive,
		Metadata: map[string]string{"plan": "secret plan " + convID}, CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateConversation(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	m := storage.Message{ID: msgID, ConversationID: convID, Role: storage.RoleUser, Text: "secret text " + convID + "/" + msgID,
		Parts: secretParts(convID + "/" + msgID), Status: storage.MessageComplete, CreatedAt: t0.Add(time.Second)}
	if _, _, err := s.AppendMessage(t.Context(), m); err != nil {
		t.Fatal(err)
	}
}

func TestInnerStoreNeverSeesPlaintext(t *testing.T) {
	inner := memory.New()
	s := wrap(t, inner, newKey(t, "k1"))
	seed(t, s, "c1", "m1")
	c, err := inner.GetConversation(t.Context(), "c1")
	if err != nil {
		t.Fatal(err)
	}
	m, err := inner.GetMessage(t.Context(), "c1", "m1")
	if err != nil {
		t.Fatal(err)
	}
	sealed := map[string]string{"title": c.Title, "metadata": c.Metadata["plan"], "text": m.Text}
	want := secretParts("c1/m1")
	if len(m.Parts) != len(want) {
		t.Fatalf("inner message holds %d parts, want %d", len(m.Parts), len(want))
	}
	for i, p := range m.Parts {
		for name, v := range map[string]string{"text": p.Text, "signature": p.Signature, "arguments": p.Arguments, "file name": p.FileName} {
			sealed[fmt.Sprintf("part %d %s", i, name)] = v
		}
		// The other fields stay readable, as they were written.
		clear := want[i]
		clear.Text, clear.Signature, clear.Arguments, clear.FileName = p.Text, p.Signature, p.Arguments, p.FileName
		if p != clear {
			t.Errorf("inner part %d = %+v, want its clear fields as written: %+v", i, p, want[i])
		}
	}
	for what, v := range sealed {
		if strings.Contains(v, "secret") || !strings.HasPrefix(v, "v1:k1:") {
			t.Errorf("inner %s = %q, want a v1:k1: envelope without the plaintext", what, v)
		}
	}
	// Same plaintext twice gives two ciphertexts (random nonces).
	seed(t, s, "c2", "m1")
	c2, _ := inner.GetConversation(t.Context(), "c2")
	if c2.Metadata["plan"] == c.Metadata["plan"] {
		t.Error("two conversations got the same ciphertext")
	}
	got, err := s.GetMessage(t.Context(), "c1", "m1")
	if err != nil || got.Text != "secret text c1/m1" || !reflect.DeepEqual(got.Parts, want) {
		t.Errorf("GetMessage through the wrapper = %q, %+v, %v; want the text and parts written", got.Text, got.Parts, err)
	}
	// Sealing leaves the caller's parts alone.
	parts := secretParts("c3/m1")
	if err := s.CreateConversation(t.Context(), storage.Conversation{ID: "c3", UserID: "alice", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AppendMessage(t.Context(), storage.Message{ID: "m1", ConversationID: "c3", Role: storage.RoleAssistant,
		Parts: parts, CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(parts, secretParts("c3/m1")) {
		t.Errorf("AppendMessage changed the caller's parts to %+v", parts)
	}
}

func TestCiphertextMovedToAnotherRecordFailsToDecrypt(t *testing.T) {
	inner := memory.New()
	key := newKey(t, "k1")
	s := wrap(t, inner, key)
	seed(t, s, "c1", "m1")
	seed(t, s, "c2", "m2")
	if _, _, err := s.AppendMessage(t.Context(), storage.Message{ID: "m3", ConversationID: "c1", Role: storage.RoleUser, Text: "x", CreatedAt: t0.Add(2 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	m1, _ := inner.GetMessage(t.Context(), "c1", "m1")

	// Into another message of the same conversation, and into a message
	// with the same id in another conversation.
	for _, target := range [][2]string{{"c1", "m3"}, {"c2", "m2"}} {
		moved := m1
		moved.ConversationID, moved.ID = target[0], target[1]
		if err := inner.UpdateMessage(t.Context(), moved); err != nil {
			t.Fatal(err)
		}
		_, err := s.GetMessage(t.Context(), target[0], target[1])
		if !errors.Is(err, encrypted.ErrDecrypt) {
			t.Errorf("GetMessage(%v) with a moved ciphertext: %v, want ErrDecrypt", target, err)
		}
		page, err := s.ListMessages(t.Context(), storage.MessageQuery{ConversationID: target[0]})
		if !errors.Is(err, encrypted.ErrDecrypt) || len(page.Messages) != 0 {
			t.Errorf("ListMessages(%s) with a moved ciphertext: %d messages, %v; want ErrDecrypt and nothing", target[0], len(page.Messages), err)
		}
	}

	// Parts: moved between messages, reordered, or a value moved to
	// another part or another field of its part.
	partMoves := []struct {
		name string
		move func(from, to *storage.Message)
	}{
		{"parts of another message of the conversation", func(from, to *storage.Message) { to.Parts = from.Parts }},
		{"two parts swapped", func(_, to *storage.Message) { to.Parts[0], to.Parts[4] = to.Parts[4], to.Parts[0] }},
		{"a text moved to another part", func(_, to *storage.Message) { to.Parts[4].Text = to.Parts[0].Text }},
		{"a signature moved to the text of its part", func(_, to *storage.Message) { to.Parts[0].Text = to.Parts[0].Signature }},
		{"arguments moved to the file name of another part", func(_, to *storage.Message) { to.Parts[3].FileName = to.Parts[1].Arguments }},
		{"a part dropped before others", func(_, to *storage.Message) { to.Parts = to.Parts[1:] }},
	}
	for i, mv := range partMoves {
		id := fmt.Sprintf("pm%d", i)
		for _, mid := range []string{id + "-from", id} {
			if _, _, err := s.AppendMessage(t.Context(), storage.Message{ID: mid, ConversationID: "c1", Role: storage.RoleAssistant,
				Text: "x", Parts: secretParts(mid), CreatedAt: t0.Add(3 * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		from, _ := inner.GetMessage(t.Context(), "c1", id+"-from")
		to, _ := inner.GetMessage(t.Context(), "c1", id)
		mv.move(&from, &to)
		if err := inner.UpdateMessage(t.Context(), to); err != nil {
			t.Fatal(err)
		}
		if m, err := s.GetMessage(t.Context(), "c1", id); !errors.Is(err, encrypted.ErrDecrypt) || m.Parts != nil {
			t.Errorf("GetMessage with %s: %d parts, %v; want ErrDecrypt and nothing", mv.name, len(m.Parts), err)
		}
	}
	// A message's parts moved to the message with its id in another
	// conversation.
	if _, _, err := s.AppendMessage(t.Context(), storage.Message{ID: "m1", ConversationID: "c2", Role: storage.RoleUser,
		Text: "x", Parts: secretParts("other"), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	c2m1, _ := inner.GetMessage(t.Context(), "c2", "m1")
	c2m1.Parts = m1.Parts
	if err := inner.UpdateMessage(t.Context(), c2m1); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetMessage(t.Context(), "c2", "m1"); !errors.Is(err, encrypted.ErrDecrypt) {
		t.Errorf("GetMessage with parts moved from another conversation: %v, want ErrDecrypt", err)
	}

	// A title and a metadata value copied into another conversation.
	c1, _ := inner.GetConversation(t.Context(), "c1")
	copied := c1
	copied.ID = "c3"
	if err := inner.CreateConversation(t.Context(), copied); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetConversation(t.Context(), "c3"); !errors.Is(err, encrypted.ErrDecrypt) {
		t.Errorf("GetConversation with a copied title: %v, want ErrDecrypt", err)
	}
	if _, err := s.ListConversations(t.Context(), storage.ConversationQuery{}); !errors.Is(err, encrypted.ErrDecrypt) {
		t.Errorf("ListConversations with a copied title: %v, want ErrDecrypt", err)
	}
	// Metadata under another key of the same conversation.
	swapped := storage.Conversation{ID: "c4", UserID: "alice", CreatedAt: t0, Title: sealedTitle(t, key, "c4"),
		Metadata: map[string]string{"other": c1.Metadata["plan"]}}
	if err := inner.CreateConversation(t.Context(), swapped); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetConversation(t.Context(), "c4"); !errors.Is(err, encrypted.ErrDecrypt) {
		t.Errorf("GetConversation with metadata moved to another key: %v, want ErrDecrypt", err)
	}
}

// sealedTitle returns the envelope key gives the title of conversation
// id, by writing it through a wrapper of a scratch store.
func sealedTitle(t *testing.T, key encrypted.Key, id string) string {
	t.Helper()
	scratch := memory.New()
	if err := wrap(t, scratch, key).CreateConversation(t.Context(), storage.Conversation{ID: id, UserID: "scratch", Title: "t", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	c, err := scratch.GetConversation(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.Title
}

func TestValidateKeysMatchesNew(t *testing.T) {
	good, bad := newKey(t, "good"), encrypted.Key{ID: "bad", Secret: make([]byte, 31)}
	if err := encrypted.ValidateKeys(good, newKey(t, "old")); err != nil {
		t.Errorf("ValidateKeys of good keys: %v", err)
	}
	err := encrypted.ValidateKeys(good, bad)
	if err == nil || !strings.Contains(err.Error(), "31 bytes") {
		t.Errorf("ValidateKeys with a 31-byte key: %v", err)
	}
}

// TestUsageConformanceOverMemory runs the usage suite through the
// wrapper, whose usage methods pass through; its large listing uses
// 10,000 rows, the memory store's own suite runs the full 100,000.
func TestUsageConformanceOverMemory(t *testing.T) {
	key := newKey(t, "k1")
	storagetest.RunUsage(t, func(t *testing.T) storage.UsageStore { return wrap(t, memory.New(), key) },
		storagetest.UsageRows(10_000))
}

// storeOnly hides every method of the Store it holds but storage.Store's.
type storeOnly struct{ storage.Store }

// TestUsageOverAStoreWithoutUsageIsUnsupported: every usage method of a
// wrapper around a Store that keeps no usage says so, and SupportsUsage
// tells in advance.
func TestUsageOverAStoreWithoutUsageIsUnsupported(t *testing.T) {
	s := wrap(t, storeOnly{memory.New()}, newKey(t, "k1"))
	if s.SupportsUsage() {
		t.Error("SupportsUsage over a Store without usage = true")
	}
	if !wrap(t, memory.New(), newKey(t, "k1")).SupportsUsage() {
		t.Error("SupportsUsage over memory.Store = false")
	}
	ctx := t.Context()
	r := storage.UsageRecord{ID: "r1", UserID: "u", Model: "m", At: t0}
	_, listErr := s.ListUsage(ctx, storage.UsageQuery{})
	_, sumErr := s.SumUsage(ctx, "u", t0, t0.Add(time.Hour))
	_, reserveErr := s.ReserveUsage(ctx, storage.Reservation{ID: "a", UserID: "u", ExpiresAt: t0})
	for name, err := range map[string]error{
		"RecordUsage":        s.RecordUsage(ctx, r),
		"ListUsage":          listErr,
		"SumUsage":           sumErr,
		"ReserveUsage":       reserveErr,
		"ReleaseReservation": s.ReleaseReservation(ctx, "u", "a"),
	} {
		if !errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "storage.UsageStore") {
			t.Errorf("%s: %v, want an error wrapping errors.ErrUnsupported that names storage.UsageStore", name, err)
		}
	}
}
