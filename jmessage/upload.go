package jmessage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
)

// jsonMarshal encodes v without HTML escaping, as JSON.stringify does.
func jsonMarshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// uploadResponse is the media upload answer (spec §6.6), or a REST-style
// error.
type uploadResponse struct {
	MediaID    string  `json:"media_id"`
	MediaCRC32 uint32  `json:"media_crc32"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
	Format     string  `json:"format"`
	FSize      int64   `json:"fsize"`
	FName      string  `json:"fname"`
	Hash       string  `json:"hash"`
	Duration   float64 `json:"duration"`
	Error      *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// upload posts one file to the media endpoint with a fresh upload token.
func (c *Client) upload(ctx context.Context, kind, filename string, r io.Reader) (*uploadResponse, error) {
	token, err := c.UploadToken(ctx)
	if err != nil {
		return nil, fmt.Errorf("jmessage: upload %s: %w", filename, err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile(kind, filename)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(part, r); err != nil {
		return nil, fmt.Errorf("jmessage: upload %s: read: %w", filename, err)
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	u, err := url.Parse(c.opts.uploadURL)
	if err != nil {
		return nil, fmt.Errorf("jmessage: upload URL %q: %w", c.opts.uploadURL, err)
	}
	q := u.Query()
	q.Set("type", kind)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), &body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("X-App-Key", c.AppKey())
	req.Header.Set("jm-channel", "w")
	req.SetBasicAuth(c.Username(), token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jmessage: upload %s: %w", filename, err)
	}
	defer resp.Body.Close()
	var out uploadResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return nil, fmt.Errorf("jmessage: upload %s: HTTP %d with an unreadable answer: %w", filename, resp.StatusCode, err)
	}
	if out.Error != nil {
		code := out.Error.Code
		if code == 898061 {
			code = CodeFileTooLarge // as SDK 2.4 maps it
		}
		return nil, &Error{Code: code, Message: out.Error.Message}
	}
	if resp.StatusCode != http.StatusOK || out.MediaID == "" {
		return nil, fmt.Errorf("jmessage: upload %s: HTTP %d without a media_id", filename, resp.StatusCode)
	}
	return &out, nil
}

// UploadImage uploads a png, jpeg or gif image and returns the body of an
// image message that shows it.
func (c *Client) UploadImage(ctx context.Context, filename string, r io.Reader) (ImageBody, error) {
	m, err := c.upload(ctx, "image", filename, r)
	if err != nil {
		return ImageBody{}, err
	}
	return ImageBody{MediaID: m.MediaID, MediaCRC32: m.MediaCRC32, Width: m.Width, Height: m.Height,
		Format: m.Format, FSize: m.FSize, Hash: m.Hash}, nil
}

// UploadFile uploads any file and returns the body of a file message.
func (c *Client) UploadFile(ctx context.Context, filename string, r io.Reader) (FileBody, error) {
	m, err := c.upload(ctx, "file", filename, r)
	if err != nil {
		return FileBody{}, err
	}
	return FileBody{MediaID: m.MediaID, MediaCRC32: m.MediaCRC32, FSize: m.FSize, FName: m.FName, Hash: m.Hash}, nil
}

// MediaURL returns where a jimbot server serves media_id. (The public
// service's v1 SDK used http://media.file.jpush.cn/<media_id>.)
func (c *Client) MediaURL(mediaID string) string {
	u, _ := url.Parse(c.opts.uploadURL)
	u.Path, u.RawQuery = "/media/"+mediaID, ""
	return u.String()
}
