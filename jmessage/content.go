package jmessage

import (
	"encoding/json"
	"errors"
	"fmt"
)

// MsgType is the content type of a message (content.msg_type, spec §7.2).
// Not to be confused with the envelope's msg_type (ConvSingle/ConvGroup).
type MsgType string

// Content types.
const (
	MsgText     MsgType = "text"
	MsgImage    MsgType = "image"
	MsgVoice    MsgType = "voice"
	MsgFile     MsgType = "file"
	MsgLocation MsgType = "location"
	MsgVideo    MsgType = "video"
	MsgCustom   MsgType = "custom"
)

// Target types of a message's content.
const (
	TargetSingle = "single"
	TargetGroup  = "group"
	// TargetSigle is the v1 SDK's misspelling used for cross-app single
	// sends; servers must accept it as TargetSingle.
	TargetSigle = "sigle"
)

// Content is the message object relayed between clients (spec §7.2). The
// sender builds it; the server relays it untouched.
type Content struct {
	Version      int             `json:"version"`
	TargetType   string          `json:"target_type"`
	TargetID     string          `json:"target_id"`
	TargetName   string          `json:"target_name,omitempty"`
	FromType     string          `json:"from_type,omitempty"`
	FromPlatform string          `json:"from_platform,omitempty"`
	FromID       string          `json:"from_id"`
	FromName     string          `json:"from_name,omitempty"`
	CreateTime   int64           `json:"create_time"` // milliseconds, as the web SDK sends it
	MsgType      MsgType         `json:"msg_type"`
	MsgBody      json.RawMessage `json:"msg_body"`
	FromAppKey   string          `json:"from_appkey,omitempty"`
	TargetAppKey string          `json:"target_appkey,omitempty"`
}

// Body decodes MsgBody by MsgType. It returns one of TextBody, ImageBody,
// VoiceBody, FileBody, LocationBody, VideoBody or CustomBody.
func (c *Content) Body() (Body, error) {
	var b Body
	switch c.MsgType {
	case MsgText:
		b = &TextBody{}
	case MsgImage:
		b = &ImageBody{}
	case MsgVoice:
		b = &VoiceBody{}
	case MsgFile:
		b = &FileBody{}
	case MsgLocation:
		b = &LocationBody{}
	case MsgVideo:
		b = &VideoBody{}
	case MsgCustom:
		b = &CustomBody{}
	default:
		return nil, fmt.Errorf("jmessage: unknown msg_type %q", c.MsgType)
	}
	if len(c.MsgBody) == 0 {
		return nil, fmt.Errorf("jmessage: %s message has no msg_body", c.MsgType)
	}
	if err := json.Unmarshal(c.MsgBody, b); err != nil {
		return nil, fmt.Errorf("jmessage: %s msg_body: %w", c.MsgType, err)
	}
	return derefBody(b), nil
}

// Text returns the text of a text message, and "" for other types.
func (c *Content) Text() string {
	if c.MsgType != MsgText {
		return ""
	}
	var t TextBody
	if json.Unmarshal(c.MsgBody, &t) != nil {
		return ""
	}
	return t.Text
}

// Validate checks the fields a server or bot relies on: version, target,
// sender, a known msg_type and a msg_body of the right shape.
func (c *Content) Validate() error {
	var errs []error
	if c.TargetID == "" {
		errs = append(errs, errors.New("target_id is empty"))
	}
	switch c.TargetType {
	case TargetSingle, TargetSigle, TargetGroup:
	default:
		errs = append(errs, fmt.Errorf("target_type %q is not single or group", c.TargetType))
	}
	if c.FromID == "" {
		errs = append(errs, errors.New("from_id is empty"))
	}
	if _, err := c.Body(); err != nil {
		errs = append(errs, err)
	} else if c.MsgType == MsgText {
		var t TextBody
		_ = json.Unmarshal(c.MsgBody, &t)
		if t.Text == "" {
			errs = append(errs, errors.New("text msg_body has no text"))
		}
	}
	return errors.Join(errs...)
}

// Body is the typed msg_body of one content type.
type Body interface {
	// MsgType returns the content type this body belongs to.
	MsgType() MsgType
}

// TextBody is the body of a text message.
type TextBody struct {
	Text   string         `json:"text"`
	Extras map[string]any `json:"extras,omitempty"`
}

// MsgType returns MsgText.
func (TextBody) MsgType() MsgType { return MsgText }

// Text returns a text body.
func Text(s string) TextBody { return TextBody{Text: s} }

// WithExtras returns a copy of t carrying extras (any JSON object).
func (t TextBody) WithExtras(extras map[string]any) TextBody {
	t.Extras = extras
	return t
}

// ImageBody is the body of an image message; its fields come from the
// media upload response.
type ImageBody struct {
	MediaID    string         `json:"media_id"`
	MediaCRC32 uint32         `json:"media_crc32"`
	Width      int            `json:"width"`
	Height     int            `json:"height"`
	Format     string         `json:"format"`
	FSize      int64          `json:"fsize"`
	Hash       string         `json:"hash,omitempty"`
	Extras     map[string]any `json:"extras,omitempty"`
}

// MsgType returns MsgImage.
func (ImageBody) MsgType() MsgType { return MsgImage }

// VoiceBody is the body of a voice message.
type VoiceBody struct {
	MediaID    string         `json:"media_id"`
	MediaCRC32 uint32         `json:"media_crc32"`
	Duration   float64        `json:"duration"`
	Format     string         `json:"format"`
	FSize      int64          `json:"fsize"`
	Hash       string         `json:"hash,omitempty"`
	Extras     map[string]any `json:"extras,omitempty"`
}

// MsgType returns MsgVoice.
func (VoiceBody) MsgType() MsgType { return MsgVoice }

// FileBody is the body of a file message.
type FileBody struct {
	MediaID    string         `json:"media_id"`
	MediaCRC32 uint32         `json:"media_crc32"`
	FSize      int64          `json:"fsize"`
	FName      string         `json:"fname"`
	Hash       string         `json:"hash,omitempty"`
	Extras     map[string]any `json:"extras,omitempty"`
}

// MsgType returns MsgFile.
func (FileBody) MsgType() MsgType { return MsgFile }

// LocationBody is the body of a location message. Label is spelled "label"
// as in the protocol's examples (its field list says "lable").
type LocationBody struct {
	Latitude  float64        `json:"latitude"`
	Longitude float64        `json:"longitude"`
	Scale     float64        `json:"scale"`
	Label     string         `json:"label"`
	Extras    map[string]any `json:"extras,omitempty"`
}

// MsgType returns MsgLocation.
func (LocationBody) MsgType() MsgType { return MsgLocation }

// VideoMedia and VideoThumb are the parts of a video body.
type VideoMedia struct {
	MediaID    string `json:"media_id"`
	MediaCRC32 uint32 `json:"media_crc32"`
	FSize      int64  `json:"fsize"`
	FName      string `json:"fname"`
}

// VideoThumb is the thumbnail of a video body.
type VideoThumb struct {
	MediaID    string `json:"media_id"`
	MediaCRC32 uint32 `json:"media_crc32"`
	Format     string `json:"format"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	FSize      int64  `json:"fsize"`
}

// VideoBody is the body of a video message.
type VideoBody struct {
	Video    VideoMedia     `json:"video"`
	Duration float64        `json:"duration"`
	Thumb    VideoThumb     `json:"thumb"`
	Extras   map[string]any `json:"extras,omitempty"`
}

// MsgType returns MsgVideo.
func (VideoBody) MsgType() MsgType { return MsgVideo }

// CustomBody is the body of a custom message: any JSON object.
type CustomBody map[string]any

// MsgType returns MsgCustom.
func (CustomBody) MsgType() MsgType { return MsgCustom }

// Custom returns a custom body.
func Custom(fields map[string]any) CustomBody { return CustomBody(fields) }

func derefBody(b Body) Body {
	switch v := b.(type) {
	case *TextBody:
		return *v
	case *ImageBody:
		return *v
	case *VoiceBody:
		return *v
	case *FileBody:
		return *v
	case *LocationBody:
		return *v
	case *VideoBody:
		return *v
	case *CustomBody:
		return *v
	}
	return b
}

// NewContent builds the content object for body the way the web SDK does:
// version 1, from_platform "web", create_time in milliseconds. targetType
// is TargetSingle or TargetGroup; targetID is a username or a gid.
func NewContent(targetType, targetID, fromID string, nowMs int64, body Body) (*Content, error) {
	if body == nil {
		return nil, errors.New("jmessage: nil message body")
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("jmessage: encode %s body: %w", body.MsgType(), err)
	}
	if t, ok := body.(TextBody); ok && t.Text == "" {
		return nil, errors.New("jmessage: text message is empty")
	}
	return &Content{
		Version:      1,
		TargetType:   targetType,
		TargetID:     targetID,
		FromPlatform: "web",
		FromID:       fromID,
		CreateTime:   nowMs,
		MsgType:      body.MsgType(),
		MsgBody:      raw,
	}, nil
}

// Encode returns c as JSON the way a browser's JSON.stringify writes it
// (no HTML escaping), ready to send as a request's content.
func (c *Content) Encode() ([]byte, error) { return jsonMarshal(c) }
