package chatbox_test

import "github.com/chatboxsdk/chatbox/storage"

func storageQuery(conv string) storage.MessageQuery {
	return storage.MessageQuery{ConversationID: conv, Limit: storage.MaxPageSize}
}
