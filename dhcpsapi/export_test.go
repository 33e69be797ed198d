package dhcpsapi

// Internals for the external tests (package dhcpsapi_test, which imports
// dhcpsapitest).
var (
	DecodeRelationshipArray = decodeRelationshipArray
	DecodeStatistics        = decodeStatistics
	DecodeSubnetMask        = decodeSubnetMask
	DecodeSubnetInfo        = decodeSubnetInfo
	IPAddressToAddr         = ipAddress
	PrefixOfMask            = subnetPrefix
	DecodeSuperScopeTable   = decodeSuperScopeTable
	DecodeMibInfo           = decodeMibInfo
	DateTimeToTime          = dateTime
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

	SSTOffNum           = sstOffNum
	SSTOffEntries       = sstOffEntries
	SSTSize             = sstSize
	SSEOffSubnet        = sseOffSubnet
	SSEOffNumber        = sseOffNumber
	SSEOffNext          = sseOffNext
	SSEOffName          = sseOffName
	SSESize             = sseSize
	MibOffDiscovers     = mibOffDiscovers
	MibOffOffers        = mibOffOffers
	MibOffRequests      = mibOffRequests
	MibOffAcks          = mibOffAcks
	MibOffNaks          = mibOffNaks
	MibOffDeclines      = mibOffDeclines
	MibOffReleases      = mibOffReleases
	MibOffStartTime     = mibOffStartTime
	MibOffQtnNumLeases  = mibOffQtnNumLeases
	MibOffDelayedOffers = mibOffDelayedOffers
	MibOffScopesDelayed = mibOffScopesDelayed
	MibOffScopes        = mibOffScopes
	MibOffScopeInfo     = mibOffScopeInfo
	MibSize             = mibSize
	SMibOffSubnet       = smibOffSubnet
	SMibOffInUse        = smibOffInUse
	SMibOffFree         = smibOffFree
	SMibOffPending      = smibOffPending
	SMibSize            = smibSize
	SST32OffEntries     = sst32OffEntries
	SST32Size           = sst32Size
	SSE32OffName        = sse32OffName
	SSE32Size           = sse32Size
	Mib32OffScopeInfo   = mib32OffScopeInfo
	Mib32Size           = mib32Size
)
