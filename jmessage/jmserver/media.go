package jmserver

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	_ "image/gif" // image formats for width and height of uploads
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/jimbot/jimbot/jmessage"
	"github.com/jimbot/jimbot/storage"
)

// Media is the upload response of spec §6.6: the fields an image, file or
// voice message body needs.
type Media struct {
	MediaID    string `json:"media_id"`
	MediaCRC32 uint32 `json:"media_crc32"`
	Width      int    `json:"width,omitempty"`
	Height     int    `json:"height,omitempty"`
	Format     string `json:"format,omitempty"`
	FSize      int64  `json:"fsize"`
	FName      string `json:"fname,omitempty"`
	Hash       string `json:"hash,omitempty"`
}

type mediaItem struct {
	meta        Media
	contentType string
	data        []byte
}

// mediaStore keeps uploaded files in memory, and in the store when the
// server has one.
type mediaStore struct {
	max   int64
	items sync.Map // media_id → *mediaItem
	store *persister
}

func (m *mediaStore) init(max int64) { m.max = max }

type mediaRecord struct {
	Meta        Media  `json:"meta"`
	ContentType string `json:"content_type"`
}

func (m *mediaStore) put(it *mediaItem) error {
	if m.store != nil {
		err := m.store.ns.Update(func(tx *storage.Tx) error {
			if err := storage.TxPutJSON(tx.Sub("media"), it.meta.MediaID, mediaRecord{Meta: it.meta, ContentType: it.contentType}); err != nil {
				return err
			}
			return tx.Sub("mediadata").Put(it.meta.MediaID, it.data)
		})
		if err != nil {
			return err
		}
	}
	m.items.Store(it.meta.MediaID, it)
	return nil
}

func (m *mediaStore) get(id string) (*mediaItem, error) {
	if v, ok := m.items.Load(id); ok {
		return v.(*mediaItem), nil
	}
	if m.store == nil {
		return nil, storage.ErrNotFound
	}
	var it mediaItem
	err := m.store.ns.View(func(tx *storage.Tx) error {
		rec, err := storage.TxGetJSON[mediaRecord](tx.Sub("media"), id)
		if err != nil {
			return err
		}
		it.meta, it.contentType = rec.Meta, rec.ContentType
		it.data, err = tx.Sub("mediadata").Get(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	m.items.Store(id, &it)
	return &it, nil
}

// cors answers preflight requests and marks responses readable by the
// browser origins the server allows. It reports whether the request was
// a preflight (and so is done).
func (s *Server) cors(w http.ResponseWriter, r *http.Request) bool {
	if origin := r.Header.Get("Origin"); origin != "" && s.opts.AllowOrigin(origin) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		h.Set("Access-Control-Allow-Headers", "Authorization, X-App-Key, Content-Type, jm-channel")
		h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
		h.Add("Vary", "Origin")
	}
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	return false
}

// httpError writes the REST error shape {"error":{"code","message"}}.
func httpError(w http.ResponseWriter, status, code int, format string, args ...any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": fmt.Sprintf(format, args...)}})
}

// serveResource is POST /resource?type=image|file|voice (upload, spec
// §6.6) and GET /v1/resource?mediaId= (download URL, REST §5.2).
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request) {
	if s.cors(w, r) {
		return
	}
	switch r.Method {
	case http.MethodGet:
		id := r.URL.Query().Get("mediaId")
		if _, err := s.media.get(id); err != nil {
			httpError(w, http.StatusNotFound, jmessage.CodeFileNotExist, "media %q not found", id)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]string{"url": mediaURL(r, id)})
	case http.MethodPost:
		s.upload(w, r)
	default:
		httpError(w, http.StatusMethodNotAllowed, jmessage.CodeInvalidParameter, "use POST to upload or GET with mediaId")
	}
}

// mediaURL is where GET /media/ serves id, on the host the request came to.
func mediaURL(r *http.Request, id string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/media/" + id
}

func (s *Server) upload(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("type")
	switch kind {
	case "image", "file", "voice":
	case "":
		kind = "file"
	default:
		httpError(w, http.StatusBadRequest, jmessage.CodeInvalidType, "type must be image, file or voice, not %q", kind)
		return
	}
	u, err := s.uploader(r)
	if err != nil {
		httpError(w, http.StatusUnauthorized, jmessage.CodeAuthFail, "%v", err)
		return
	}
	name, data, err := readUpload(r, s.opts.MaxUploadSize)
	if errors.Is(err, errTooLarge) {
		httpError(w, http.StatusRequestEntityTooLarge, jmessage.CodeFileTooLarge, "file exceeds %d bytes", s.opts.MaxUploadSize)
		return
	}
	if err != nil {
		httpError(w, http.StatusBadRequest, jmessage.CodeInvalidParameter, "%v", err)
		return
	}
	sum := md5.Sum(data)
	meta := Media{MediaCRC32: crc32.ChecksumIEEE(data), FSize: int64(len(data)), Hash: hex.EncodeToString(sum[:])}
	ext := strings.TrimPrefix(path.Ext(name), ".")
	switch kind {
	case "image":
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil {
			httpError(w, http.StatusBadRequest, jmessage.CodeInvalidType, "not a png, jpeg or gif image: %v", err)
			return
		}
		meta.Width, meta.Height, meta.Format, ext = cfg.Width, cfg.Height, format, format
	case "voice":
		meta.Format = ext
	case "file":
		meta.FName = name
	}
	id := "qiniu/" + kind + "/j/" + strings.ToUpper(jmessage.RandomString(32))
	if ext != "" {
		id += "." + ext
	}
	meta.MediaID = id
	ct := mime.TypeByExtension(path.Ext(id))
	if ct == "" {
		ct = http.DetectContentType(data)
	}
	if err := s.media.put(&mediaItem{meta: meta, contentType: ct, data: data}); err != nil {
		s.log.Error("store upload", "user", u.username, "err", err)
		httpError(w, http.StatusInternalServerError, jmessage.CodeServerInternal, "could not store the file")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(meta)
}

// uploader authenticates an upload: X-App-Key plus Basic username:uptoken.
func (s *Server) uploader(r *http.Request) (*user, error) {
	appKey := r.Header.Get("X-App-Key")
	name, token, ok := r.BasicAuth()
	if !ok || appKey == "" {
		return nil, errors.New("need X-App-Key and Authorization: Basic base64(username:uptoken)")
	}
	u := s.dir.user(appKey, name)
	if u == nil {
		return nil, fmt.Errorf("user %s does not exist in app %s", name, appKey)
	}
	u.mu.Lock()
	valid := u.uploadToken != "" && u.uploadToken == token && s.now().Before(u.tokenExpiry)
	u.mu.Unlock()
	if !valid {
		return nil, errors.New("upload token is invalid or expired; get a new one with get_upload_token")
	}
	return u, nil
}

var errTooLarge = errors.New("upload too large")

// readUpload returns the first file of a multipart form, or the raw body
// when the request is not multipart.
func readUpload(r *http.Request, max int64) (string, []byte, error) {
	body := http.MaxBytesReader(nil, r.Body, max+1<<20)
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(mt, "multipart/") {
		data, err := readLimited(body, max)
		return "upload", data, err
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return "", nil, errors.New("the multipart form has no file part")
		}
		if err != nil {
			return "", nil, fmt.Errorf("read multipart form: %w", err)
		}
		if p.FileName() == "" {
			continue
		}
		data, err := readLimited(p, max)
		return p.FileName(), data, err
	}
}

func readLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge
		}
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, errTooLarge
	}
	return data, nil
}

// serveMedia is GET /media/<media_id>. The v1 SDK appends ".mp3" to voice
// ids; that suffix is accepted.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) {
	if s.cors(w, r) {
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/media/")
	it, err := s.media.get(id)
	if err != nil && strings.HasSuffix(id, ".mp3") {
		it, err = s.media.get(strings.TrimSuffix(id, ".mp3"))
	}
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", it.contentType)
	w.Header().Set("Cache-Control", "public, max-age=86400, immutable")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(it.data))
}
