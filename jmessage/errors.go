package jmessage

import (
	"errors"
	"fmt"
)

// Error is a JMessage error code returned by the server in a response's
// code and message fields (spec §10). Two errors are equal under errors.Is
// when their codes are equal, so a response error can be tested against the
// exported sentinels:
//
//	if errors.Is(err, jmessage.ErrUserNotExist) { ... }
type Error struct {
	// Code is the numeric JMessage error code, for example 880103.
	Code int
	// Message is the server's English text for the code.
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Message == "" {
		if known, ok := codeText[e.Code]; ok {
			return fmt.Sprintf("jmessage: %d %s", e.Code, known)
		}
	}
	return fmt.Sprintf("jmessage: %d %s", e.Code, e.Message)
}

// Is reports whether target is an *Error with the same code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Temporary reports whether the same request may succeed if sent again
// later: rate limits, internal errors, server timeouts and "busy".
func (e *Error) Temporary() bool {
	switch e.Code {
	case CodeRateLimited, CodeServerInternal, CodeResponseTimeout, CodeServerBusy:
		return true
	}
	return false
}

// NewError returns an *Error for code with the protocol's standard message
// text (or "error" for a code the table does not know).
func NewError(code int) *Error {
	msg, ok := codeText[code]
	if !ok {
		msg = "error"
	}
	return &Error{Code: code, Message: msg}
}

// Errorf returns an *Error for code whose message is the standard text
// followed by ": " and a formatted detail. The code alone decides errors.Is.
func Errorf(code int, format string, args ...any) *Error {
	e := NewError(code)
	e.Message += ": " + fmt.Sprintf(format, args...)
	return e
}

// Codes of the JMessage Web SDK v1 protocol (spec §10). The comments give the
// server's message text.
const (
	CodeSuccess                   = 0      // success
	CodeMissing                   = 880001 // missing error
	CodeInvalidParameter          = 880002 // invalid parameter
	CodeInvalidValue              = 880003 // invalid value
	CodeInvalidType               = 880004 // invalid type
	CodeFileNotExist              = 880005 // file not exist
	CodeLogoutBeforeRegister      = 880006 // login out before register
	CodeRegisterLimit             = 880007 // register limit
	CodeMsgIDNotValid             = 880008 // msg_id not valid
	CodeAppKeyNotExist            = 880101 // appkey not exist
	CodeSignatureFail             = 880102 // signatu fail [sic]
	CodeUserNotExist              = 880103 // user not exist
	CodeInvalidPassword           = 880104 // invalid password
	CodeSignatureExpired          = 880106 // signature expired
	CodeAlreadyLoggedIn           = 880107 // already login
	CodeRepeatedOperation         = 880109 // repetitive operation
	CodeMultiChannel              = 880110 // multi channel online error, update sdk
	CodeUserDisabled              = 880111 // user disabled
	CodeTargetUserNotExist        = 880203 // target user not exist
	CodeTargetGroupNotExist       = 880204 // target group not exist
	CodeNotInGroup                = 880205 // user not in group
	CodeMessageTooLong            = 880206 // length of message exceed limit
	CodeInBlacklist               = 880207 // user in blacklist
	CodeSensitive                 = 880208 // message is sensitive
	CodeRateLimited               = 880209 // frequency limit
	CodeFileTooLarge              = 880210 // file size exceed limit
	CodeSilenced                  = 880212 // can not chat while silent
	CodeCreateGroupNotPermitted   = 880402 // not permitted to create group
	CodeTooManyGroups             = 880403 // amount of group exceed limit
	CodeGroupNameTooLong          = 880404 // length of group name exceed limit
	CodeGroupDescTooLong          = 880405 // length of group desc exceed limit
	CodeExitNotInGroup            = 880502 // user not in group
	CodeZeroMember                = 880602 // zero member
	CodeAdderNotInGroup           = 880603 // user not in group
	CodeAddNotPermitted           = 880604 // user not permitted add member to group
	CodeMemberNotPermitted        = 880606 // member not permitted added to group
	CodeMemberRepeated            = 880607 // repeated added
	CodeGroupMemberLimit          = 880608 // amount of member exceed group limit
	CodeMemberGroupLimit          = 880609 // amount of group exceed member limit
	CodeAlreadyInGroup            = 880610 // already in group
	CodeDeleterNotInGroup         = 880703 // user not in group
	CodeDeleteNotPermitted        = 880704 // user not permitted delete member of group
	CodeMemberNotDeletable        = 880705 // member of group not permitted deleted
	CodeUpdateNameTooLong         = 880803 // length of group name exceed limit
	CodeUpdateDescTooLong         = 880804 // length of group desc exceed limit
	CodeMemberAddNotPermitted     = 880903 // member not permitted added
	CodeMemberNotExist            = 881002 // member not exist
	CodeNoDisturbUserAlreadySet   = 881101 // member already set
	CodeNoDisturbUserNeverSet     = 881102 // member never set
	CodeNoDisturbGroupNotExist    = 881103 // group not exist
	CodeNoDisturbNotInGroup       = 881104 // user not in group
	CodeNoDisturbGroupAlreadySet  = 881105 // group already set
	CodeNoDisturbGroupNeverSet    = 881106 // group never set
	CodeNoDisturbGlobalAlreadySet = 881107 // already set
	CodeNoDisturbGlobalNeverSet   = 881108 // never set
	CodeServerInternal            = 882001 // server internal error
	CodeUserExist                 = 882002 // user exist
	CodeInvalidParam              = 882003 // invalid parameter
	CodeAuthFail                  = 882004 // auth fail
	CodeResponseTimeout           = 882005 // response time out, try again later
	CodeNotGroupAdmin             = 881701 // not group admin (a jimbot server: a non-owner updating group info)
	CodeServerBusy                = 898030 // busy, retry
)

var codeText = map[int]string{
	CodeSuccess:                   "success",
	CodeMissing:                   "missing error",
	CodeInvalidParameter:          "invalid parameter",
	CodeInvalidValue:              "invalid value",
	CodeInvalidType:               "invalid type",
	CodeFileNotExist:              "file not exist",
	CodeLogoutBeforeRegister:      "login out before register",
	CodeRegisterLimit:             "register limit",
	CodeMsgIDNotValid:             "msg_id not valid",
	CodeAppKeyNotExist:            "appkey not exist",
	CodeSignatureFail:             "signatu fail",
	CodeUserNotExist:              "user not exist",
	CodeInvalidPassword:           "invalid password",
	CodeSignatureExpired:          "signature expired",
	CodeAlreadyLoggedIn:           "already login",
	CodeRepeatedOperation:         "repetitive operation",
	CodeMultiChannel:              "multi channel online error, update sdk",
	CodeUserDisabled:              "user disabled",
	CodeTargetUserNotExist:        "target user not exist",
	CodeTargetGroupNotExist:       "target group not exist",
	CodeNotInGroup:                "user not in group",
	CodeMessageTooLong:            "length of message exceed limit",
	CodeInBlacklist:               "user in blacklist",
	CodeSensitive:                 "message is sensitive",
	CodeRateLimited:               "frequency limit",
	CodeFileTooLarge:              "file size exceed limit",
	CodeSilenced:                  "can not chat while silent",
	CodeCreateGroupNotPermitted:   "not permitted to create group",
	CodeTooManyGroups:             "amount of group exceed limit",
	CodeGroupNameTooLong:          "length of group name exceed limit",
	CodeGroupDescTooLong:          "length of group desc exceed limit",
	CodeExitNotInGroup:            "user not in group",
	CodeZeroMember:                "zero member",
	CodeAdderNotInGroup:           "user not in group",
	CodeAddNotPermitted:           "user not permitted add member to group",
	CodeMemberNotPermitted:        "member not permitted added to group",
	CodeMemberRepeated:            "repeated added",
	CodeGroupMemberLimit:          "amount of member exceed group limit",
	CodeMemberGroupLimit:          "amount of group exceed member limit",
	CodeAlreadyInGroup:            "already in group",
	CodeDeleterNotInGroup:         "user not in group",
	CodeDeleteNotPermitted:        "user not permitted delete member of group",
	CodeMemberNotDeletable:        "member of group not permitted deleted",
	CodeUpdateNameTooLong:         "length of group name exceed limit",
	CodeUpdateDescTooLong:         "length of group desc exceed limit",
	CodeMemberAddNotPermitted:     "member not permitted added",
	CodeMemberNotExist:            "member not exist",
	CodeNoDisturbUserAlreadySet:   "member already set",
	CodeNoDisturbUserNeverSet:     "member never set",
	CodeNoDisturbGroupNotExist:    "group not exist",
	CodeNoDisturbNotInGroup:       "user not in group",
	CodeNoDisturbGroupAlreadySet:  "group already set",
	CodeNoDisturbGroupNeverSet:    "group never set",
	CodeNoDisturbGlobalAlreadySet: "already set",
	CodeNoDisturbGlobalNeverSet:   "never set",
	CodeServerInternal:            "server internal error",
	CodeUserExist:                 "user exist",
	CodeInvalidParam:              "invalid parameter",
	CodeAuthFail:                  "auth fail",
	CodeResponseTimeout:           "response time out, try again later",
	CodeNotGroupAdmin:             "not group admin",
	CodeServerBusy:                "busy, retry",
}

// Sentinel errors, one per code, for use with errors.Is. Each is returned
// (as an *Error with the same code) when the server answers with that code.
var (
	ErrMissing                   = NewError(CodeMissing)
	ErrInvalidParameter          = NewError(CodeInvalidParameter)
	ErrInvalidValue              = NewError(CodeInvalidValue)
	ErrInvalidType               = NewError(CodeInvalidType)
	ErrFileNotExist              = NewError(CodeFileNotExist)
	ErrLogoutBeforeRegister      = NewError(CodeLogoutBeforeRegister)
	ErrRegisterLimit             = NewError(CodeRegisterLimit)
	ErrMsgIDNotValid             = NewError(CodeMsgIDNotValid)
	ErrAppKeyNotExist            = NewError(CodeAppKeyNotExist)
	ErrSignatureFail             = NewError(CodeSignatureFail)
	ErrUserNotExist              = NewError(CodeUserNotExist)
	ErrInvalidPassword           = NewError(CodeInvalidPassword)
	ErrSignatureExpired          = NewError(CodeSignatureExpired)
	ErrAlreadyLoggedIn           = NewError(CodeAlreadyLoggedIn)
	ErrRepeatedOperation         = NewError(CodeRepeatedOperation)
	ErrMultiChannel              = NewError(CodeMultiChannel)
	ErrUserDisabled              = NewError(CodeUserDisabled)
	ErrTargetUserNotExist        = NewError(CodeTargetUserNotExist)
	ErrTargetGroupNotExist       = NewError(CodeTargetGroupNotExist)
	ErrNotInGroup                = NewError(CodeNotInGroup)
	ErrMessageTooLong            = NewError(CodeMessageTooLong)
	ErrInBlacklist               = NewError(CodeInBlacklist)
	ErrSensitive                 = NewError(CodeSensitive)
	ErrRateLimited               = NewError(CodeRateLimited)
	ErrFileTooLarge              = NewError(CodeFileTooLarge)
	ErrSilenced                  = NewError(CodeSilenced)
	ErrCreateGroupNotPermitted   = NewError(CodeCreateGroupNotPermitted)
	ErrTooManyGroups             = NewError(CodeTooManyGroups)
	ErrGroupNameTooLong          = NewError(CodeGroupNameTooLong)
	ErrGroupDescTooLong          = NewError(CodeGroupDescTooLong)
	ErrExitNotInGroup            = NewError(CodeExitNotInGroup)
	ErrZeroMember                = NewError(CodeZeroMember)
	ErrAdderNotInGroup           = NewError(CodeAdderNotInGroup)
	ErrAddNotPermitted           = NewError(CodeAddNotPermitted)
	ErrMemberNotPermitted        = NewError(CodeMemberNotPermitted)
	ErrMemberRepeated            = NewError(CodeMemberRepeated)
	ErrGroupMemberLimit          = NewError(CodeGroupMemberLimit)
	ErrMemberGroupLimit          = NewError(CodeMemberGroupLimit)
	ErrAlreadyInGroup            = NewError(CodeAlreadyInGroup)
	ErrDeleterNotInGroup         = NewError(CodeDeleterNotInGroup)
	ErrDeleteNotPermitted        = NewError(CodeDeleteNotPermitted)
	ErrMemberNotDeletable        = NewError(CodeMemberNotDeletable)
	ErrUpdateNameTooLong         = NewError(CodeUpdateNameTooLong)
	ErrUpdateDescTooLong         = NewError(CodeUpdateDescTooLong)
	ErrMemberAddNotPermitted     = NewError(CodeMemberAddNotPermitted)
	ErrMemberNotExist            = NewError(CodeMemberNotExist)
	ErrNoDisturbUserAlreadySet   = NewError(CodeNoDisturbUserAlreadySet)
	ErrNoDisturbUserNeverSet     = NewError(CodeNoDisturbUserNeverSet)
	ErrNoDisturbGroupNotExist    = NewError(CodeNoDisturbGroupNotExist)
	ErrNoDisturbNotInGroup       = NewError(CodeNoDisturbNotInGroup)
	ErrNoDisturbGroupAlreadySet  = NewError(CodeNoDisturbGroupAlreadySet)
	ErrNoDisturbGroupNeverSet    = NewError(CodeNoDisturbGroupNeverSet)
	ErrNoDisturbGlobalAlreadySet = NewError(CodeNoDisturbGlobalAlreadySet)
	ErrNoDisturbGlobalNeverSet   = NewError(CodeNoDisturbGlobalNeverSet)
	ErrServerInternal            = NewError(CodeServerInternal)
	ErrUserExist                 = NewError(CodeUserExist)
	ErrInvalidParam              = NewError(CodeInvalidParam)
	ErrAuthFail                  = NewError(CodeAuthFail)
	ErrResponseTimeout           = NewError(CodeResponseTimeout)
	ErrNotGroupAdmin             = NewError(CodeNotGroupAdmin)
	ErrServerBusy                = NewError(CodeServerBusy)
)

// Client-side errors. They are not protocol codes.
var (
	// ErrClosed is returned by calls made after Close, or after the client
	// stopped because it was kicked or its password changed.
	ErrClosed = errors.New("jmessage: client closed")
	// ErrKicked is the client's final error after the server reported that
	// the same user logged in elsewhere (event_type 1).
	ErrKicked = errors.New("jmessage: logged in elsewhere (kicked)")
	// ErrPasswordChanged is the client's final error after the server
	// reported a password change (event_type 2).
	ErrPasswordChanged = errors.New("jmessage: password changed, logged out")
	// ErrConnectionLost is returned by a request whose connection dropped
	// before the response arrived. The request may or may not have been
	// carried out by the server.
	ErrConnectionLost = errors.New("jmessage: connection lost before the response")
	// ErrNotConnected is returned by acknowledgements attempted while the
	// client is reconnecting; the server will deliver the item again.
	ErrNotConnected = errors.New("jmessage: not connected")
	// ErrRequestTimeout is returned when no response arrived within the
	// request timeout (WithRequestTimeout). It wraps context.DeadlineExceeded.
	ErrRequestTimeout = errors.New("jmessage: request timed out")
	// ErrNotLoggedIn is returned by calls that need a logged-in user when
	// the client has only done c_init.
	ErrNotLoggedIn = errors.New("jmessage: not logged in")
)

// IsTemporary reports whether err is worth retrying later: a temporary
// protocol code (see Error.Temporary), a lost connection, a client that is
// reconnecting, or a request timeout.
func IsTemporary(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary()
	}
	return errors.Is(err, ErrConnectionLost) || errors.Is(err, ErrNotConnected) || errors.Is(err, ErrRequestTimeout)
}
