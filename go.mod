module github.com/jimbot/jimbot

go 1.26.8

require (
	github.com/googollee/go-socket.io v1.7.0
	github.com/gorilla/websocket v1.4.2
	go.etcd.io/bbolt v1.4.3
)

require (
	github.com/gofrs/uuid v4.0.0+incompatible // indirect
	github.com/gomodule/redigo v1.8.4 // indirect
	golang.org/x/sys v0.29.0 // indirect
)
