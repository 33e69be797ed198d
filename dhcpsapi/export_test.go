package dhcpsapi

// Internals for the external tests (package dhcpsapi_test, which imports
// dhcpsapitest).
var (
	DecodeRelationshipArray = decodeRelationshipArray
	DecodeStatistics        = decodeStatistics
	DecodeSubnetMask        = decodeSubnetMask
	IPAddressToAddr         = ipAddress
	PrefixOfMask            = subnetPrefix
)

const (
	RelOffPrimaryServer   = relOffPrimaryServer
	RelOffSecondaryServer = relOffSecondaryServer
	RelOffMode            = relOffMode
	RelOffServerType      = relOffServerType
	RelOffState           = relOffState
	RelOffPrevState       = relOffPrevState
	RelOffMclt            = relOffMclt
	RelOffSafePeriod      = relOffSafePeriod
	RelOffName            = relOffName
	RelOffPrimaryName     = relOffPrimaryName
	RelOffSecondaryName   = relOffSecondaryName
	RelOffScopes          = relOffScopes
	RelOffPercentage      = relOffPercentage
	RelOffSharedSecret    = relOffSharedSecret
	RelSize               = relSize
	ArrOffNum             = arrOffNum
	ArrOffElements        = arrOffElements
	ArrSize               = arrSize
	StatsSize             = statsSize
	SubnetOffMask         = subnetOffMask
	SubnetOffHostNetBios  = subnetOffHostNetBios
	SubnetOffHostName     = subnetOffHostName
	SubnetSize            = subnetSize
)
