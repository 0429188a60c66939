package calls

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nyaruka/phonenumbers"
)

var (
	// ErrBadPhone is returned for text that is not a valid telephone number.
	ErrBadPhone = errors.New("not a valid telephone number")
	// ErrBlockedPhoneType is returned for a number of a blocked type.
	ErrBlockedPhoneType = errors.New("numbers of this type are not called back")
	// ErrCountryNotAllowed is returned for a number outside the allowed regions.
	ErrCountryNotAllowed = errors.New("numbers of this country are not called back")
)

// PhonePolicy says which numbers may be called back.
type PhonePolicy struct {
	// DefaultRegion reads national numbers (ISO 3166 code such as "FR").
	DefaultRegion string `yaml:"default_region"`
	// AllowedRegions, when not empty, are the only regions called.
	AllowedRegions []string `yaml:"allowed_regions"`
	// BlockedTypes are number types never called: premium_rate,
	// shared_cost, toll_free, voip, pager, uan, voicemail, personal_number.
	BlockedTypes []string `yaml:"blocked_types"`
}

// phoneTypes names libphonenumber's number types for configuration.
var phoneTypes = map[string]phonenumbers.PhoneNumberType{
	"fixed_line": phonenumbers.FIXED_LINE, "mobile": phonenumbers.MOBILE,
	"toll_free": phonenumbers.TOLL_FREE, "premium_rate": phonenumbers.PREMIUM_RATE,
	"shared_cost": phonenumbers.SHARED_COST, "voip": phonenumbers.VOIP,
	"personal_number": phonenumbers.PERSONAL_NUMBER, "pager": phonenumbers.PAGER,
	"uan": phonenumbers.UAN, "voicemail": phonenumbers.VOICEMAIL,
}

// Validate names the first bad field, prefixed by prefix.
func (p PhonePolicy) Validate(prefix string) error {
	if p.DefaultRegion != "" && !phonenumbers.GetSupportedRegions()[strings.ToUpper(p.DefaultRegion)] {
		return fmt.Errorf("%s.default_region: %q is not a region libphonenumber knows", prefix, p.DefaultRegion)
	}
	for i, r := range p.AllowedRegions {
		if !phonenumbers.GetSupportedRegions()[strings.ToUpper(r)] {
			return fmt.Errorf("%s.allowed_regions[%d]: %q is not a region libphonenumber knows", prefix, i, r)
		}
	}
	for i, t := range p.BlockedTypes {
		if _, ok := phoneTypes[t]; !ok {
			return fmt.Errorf("%s.blocked_types[%d]: %q is not a number type", prefix, i, t)
		}
	}
	return nil
}

// Normalize parses raw (national numbers in the default region) and
// returns it in E.164, or an error saying why it is not called back.
func (p PhonePolicy) Normalize(raw string) (string, error) {
	if len(raw) > 64 {
		return "", ErrBadPhone
	}
	num, err := phonenumbers.Parse(raw, strings.ToUpper(p.DefaultRegion))
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", ErrBadPhone
	}
	typ := phonenumbers.GetNumberType(num)
	for _, b := range p.BlockedTypes {
		if phoneTypes[b] == typ {
			return "", fmt.Errorf("%w (%s)", ErrBlockedPhoneType, b)
		}
	}
	if region := phonenumbers.GetRegionCodeForNumber(num); len(p.AllowedRegions) > 0 &&
		!slices.ContainsFunc(p.AllowedRegions, func(r string) bool { return strings.EqualFold(r, region) }) {
		return "", fmt.Errorf("%w (%s)", ErrCountryNotAllowed, region)
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// Example is a mobile number of the default region as its people write
// it (national format), for a form's hint; "" without a default region.
func (p PhonePolicy) Example() string {
	region := strings.ToUpper(p.DefaultRegion)
	if region == "" {
		return ""
	}
	num := phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE)
	if num == nil {
		return ""
	}
	return phonenumbers.Format(num, phonenumbers.NATIONAL)
}

// RegionOf is the region (ISO 3166) of an E.164 number, "ZZ" when none.
func RegionOf(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return "ZZ"
	}
	return phonenumbers.GetRegionCodeForNumber(num)
}
