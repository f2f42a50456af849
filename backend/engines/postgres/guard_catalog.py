"""Every expression class sqlglot defines, sorted into what the SQL guard allows and refuses.

The guard looks up ``type(node).__name__`` of every node of a parsed query here, never
``isinstance``: sqlglot gives AND, OR, COLLATE, ``^`` and the JSON operators ``Func``
subclasses, and a later release may move a class again. A class in no set is refused, and
``tests/backend/engines/postgres/test_guard_catalog.py`` fails until a person has put every class
sqlglot defines into exactly one set, so an upgrade breaks a test, not a user's question.
"""

from __future__ import annotations


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


# AND, OR, comparisons, arithmetic... whatever class sqlglot gives them (And and Or are Funcs).
OPERATORS = _names(
    """
    Add Sub Mul Div IntDiv Mod Neg Pow Paren And Or Xor Not EQ NEQ GT GTE LT LTE Is In Between Like ILike
    SimilarTo Escape NullSafeEQ NullSafeNEQ DPipe BitwiseAnd BitwiseOr BitwiseXor BitwiseNot BitwiseLeftShift
    BitwiseRightShift Any All Exists Collate RegexpLike RegexpILike ArrayContains ArrayContainsAll
    ArrayContainedBy ArrayOverlaps JSONBContains JSONBContainsAllTopKeys JSONBContainsTopKey
    JSONBContainsAnyTopKeys JSONBDeleteAtPath JSONBExtract JSONBExtractScalar JSONExtract JSONExtractScalar
    MatchAgainst Overlaps Adjacent ExtendsLeft ExtendsRight Distance AtTimeZone Kwarg
    """
)

# The clauses and literals of a SELECT.
STRUCTURE = _names(
    """
    Select From Join Where Group Having Order Ordered Limit LimitOptions Offset Fetch Distinct With CTE Subquery
    Union Intersect Except Alias TableAlias Identifier Star Literal Null Boolean Tuple Interval Var Window
    WindowSpec Filter WithinGroup IgnoreNulls RespectNulls Lateral Values Bracket Slice Cube Rollup GroupingSets
    RawString ByteString HexString BitString UnicodeString National RecursiveWithSearch TableSample ColumnDef
    DataTypeParam IntervalSpan JSONPath JSONPathKey JSONPathRoot JSONPathSubscript JSONPathWildcard
    JSONPathSlice
    """
)

# Allowed only after a rule of their own in sql_guard (names, schemas, types).
CHECKED = _names(
    """
    Anonymous Dot Cast DataType Table Column
    """
)

# Functions sqlglot types that are pure computations in PostgreSQL.
ALLOWED_TYPED_FUNCTIONS = _names(
    """
    Abs AnyValue ApproxDistinct Array ArrayAgg ArrayConcat ArrayFilter ArrayPosition ArrayRemove ArraySize
    ArrayToString Ascii Atan Atan2 Avg BitwiseAndAgg BitwiseOrAgg Case Ceil Chr Coalesce Concat ConcatWs
    Corr Cos Cot Count CountIf CovarPop CovarSamp CumeDist CurrentDate CurrentTime CurrentTimestamp Date DateAdd
    DateBin DateDiff DateStrToDate DateSub DateTrunc Day DayOfMonth DayOfWeek DayOfYear Degrees DenseRank Exp
    Explode ExplodingGenerateSeries Extract FirstValue Floor Format GenerateSeries Greatest GroupConcat Grouping
    Hex If Initcap JSONArrayAgg JSONBExists JSONBObjectAgg JSONObject JSONObjectAgg JustifyDays JustifyHours
    JustifyInterval Lag LastValue Lead Least Left Length Levenshtein Ln Localtime Localtimestamp Log LogicalAnd
    LogicalOr Lower MD5 MakeInterval Max Min Mode Month NthValue Ntile Nullif Overlay Pad PercentRank
    PercentileCont PercentileDisc Pi Quantile Quarter Radians Rand Rank RegexpExtract RegexpReplace RegexpSplit
    RegrAvgx RegrAvgy RegrCount RegrIntercept RegrR2 RegrSlope Repeat Replace Reverse Right Round RowNumber Sign
    Sin Split SplitPart Sqrt StartsWith Stddev StddevPop StddevSamp StrPosition StrToDate StrToTime
    StringToArray Substring Sum Tan TimeToStr TimestampTrunc ToChar ToNumber Translate Trim Trunc TsOrDsToDate
    UnixToTime Unnest Upper Variance VariancePop Week WidthBucket Year
    """
)

# Every other function class: side effects, other engines' functions, or not needed.
REFUSED_FUNCTIONS = _names(
    """
    AIAgg AIClassify AIEmbed AIForecast AIGenerate AISimilarity AISummarizeAgg Acos Acosh AddMonths Agg AggFunc
    AnonymousAggFunc Apply ApproxPercentileAccumulate ApproxPercentileCombine ApproxPercentileEstimate
    ApproxQuantile ApproxQuantiles ApproxTopK ApproxTopKAccumulate ApproxTopKCombine ApproxTopKEstimate
    ApproxTopSum ApproximateSimilarity ArgMax ArgMin ArrayAll ArrayAny ArrayAppend ArrayCompact ArrayConcatAgg
    ArrayConstructCompact ArrayDistinct ArrayExcept ArrayFirst ArrayInsert ArrayIntersect ArrayLast ArrayMax
    ArrayMin ArrayPrepend ArrayRemoveAt ArrayReverse ArraySlice ArraySort ArraySum ArrayUnionAgg ArrayUniqueAgg
    ArraysZip Asin Asinh Atanh Base64DecodeBinary Base64DecodeString Base64Encode BitLength BitmapBitPosition
    BitmapBucketNumber BitmapConstructAgg BitmapCount BitmapOrAgg BitwiseCount BitwiseXorAgg Booland Boolnot
    Boolor BoolxorAgg ByteLength CastToStrType Cbrt CheckJson CheckXml CityHash64 CodePointsToBytes
    CodePointsToString Collation Columns CombinedAggFunc CombinedParameterizedAgg Compress ConnectByRoot
    Contains Convert ConvertTimezone ConvertToCharset Cosh CosineDistance Coth Csc Csch CurrentAccount
    CurrentAccountName CurrentAvailableRoles CurrentCatalog CurrentClient CurrentDatabase CurrentDatetime
    CurrentIpAddress CurrentOrganizationName CurrentOrganizationUser CurrentRegion CurrentRole CurrentRoleType
    CurrentSchema CurrentSchemas CurrentSecondaryRoles CurrentSession CurrentStatement CurrentTimestampLTZ
    CurrentTimezone CurrentTransaction CurrentUser CurrentUserId CurrentVersion CurrentWarehouse DateFromParts
    DateFromUnixDate DateToDateStr DateToDi Datetime DatetimeAdd DatetimeDiff DatetimeSub DatetimeTrunc
    DayOfWeekIso Dayname Decode DecodeCase DecompressBinary DecompressString Decrypt DecryptRaw DiToDate
    DotProduct DynamicIdentifier Elt Encode Encrypt EncryptRaw EndsWith EqualNull EuclideanDistance Factorial
    FarmFingerprint FeaturesAtTime First Flatten Float64 FromBase FromBase32 FromBase64 FromISO8601Date
    FromISO8601Timestamp FromISO8601TimestampNanos FromJson Func GapFill GenerateBool GenerateDateArray
    GenerateDouble GenerateEmbedding GenerateInt GenerateTable GenerateText GenerateTimestampArray Generator
    GetExtract GetIgnoreCase Getbit GroupingId HashAgg HexDecodeString Hll Host Hour Inline Int64 IsArray
    IsAscii IsInf IsNan IsNullValue JSONArray JSONArrayAppend JSONArrayContains JSONArrayInsert JSONBPathExists
    JSONBool JSONCast JSONExists JSONExtractArray JSONFormat JSONKeys JSONKeysAtDepth JSONRemove JSONSet
    JSONStripNulls JSONTable JSONType JSONValueArray JarowinklerSimilarity Kurtosis Last LastDay LaxBool
    LaxFloat64 LaxInt64 LaxString List LowerHex MD5Digest MD5NumberLower64 MD5NumberUpper64 MLForecast
    MLTranslate ManhattanDistance Map MapCat MapContainsKey MapDelete MapFromEntries MapInsert MapKeys MapPick
    MapSize Median Minhash MinhashCombine Minute Monthname MonthsBetween Nanvl Negative NetFunc NextDay
    NextValueFor Normal Normalize NumberToStr Nvl2 ObjectAgg ObjectId ObjectInsert ObjectTransform OpenJSON
    ParameterizedAgg ParseBignumeric ParseDatetime ParseIp ParseJSON ParseNumeric ParseTime ParseUrl Posexplode
    PosexplodeOuter Predict PreviousDay Randn Randstr RangeBucket RangeN ReadCSV ReadParquet Reduce RegDomain
    RegexpCount RegexpExtractAll RegexpFullMatch RegexpInstr RegexpSubstr RegrSxx RegrSxy RegrSyy RegrValx
    RegrValy Rint RtrimmedLength SHA SHA1Digest SHA2 SHA2Digest SafeAdd SafeConvertBytesToString SafeDivide
    SafeFunc SafeMultiply SafeNegate SafeSubtract Search SearchIp Sec Sech Second Secret Seq1 Seq2 Seq4 Seq8
    SessionUser Shuffle Sinh Skewness Soundex SoundexP123 Space SplitToTable StDistance StPoint Stack
    StandardHash StarMap StrToMap StrToUnix String StripNullValue Strtok StrtokSplitToTable StrtokToArray Struct
    StructExtract Stuff SubstringIndex Systimestamp Tanh Time TimeAdd TimeDiff TimeFromParts TimeSlice
    TimeStrToDate TimeStrToTime TimeStrToUnix TimeSub TimeToTimeStr TimeToUnix TimeTrunc Timestamp TimestampAdd
    TimestampDiff TimestampFromParts TimestampLtzFromParts TimestampSub TimestampTzFromParts ToArray ToBase32
    ToBase64 ToBinary ToBoolean ToCodePoints ToDays ToDecfloat ToDouble ToFile ToMap ToVariant Transform Try
    TryBase64DecodeBinary TryBase64DecodeString TryCast TryHexDecodeBinary TryHexDecodeString TryToDecfloat
    TsOrDiToDi TsOrDsAdd TsOrDsDiff TsOrDsToDateStr TsOrDsToDatetime TsOrDsToTime TsOrDsToTimestamp Typeof Unhex
    Unicode Uniform UnixDate UnixMicros UnixMillis UnixSeconds UnixToStr UnixToTimeStr UtcDate UtcTime
    UtcTimestamp Uuid VarMap VectorSearch WeekOfYear WeekStart WeightString XMLElement XMLGet XMLTable
    YearOfWeek YearOfWeekIso Zipf _ExplodeOuter
    """
)

# Statements, DDL, properties, placeholders and other syntax a read-only SELECT does not need.
REFUSED_SYNTAX = _names(
    """
    AddConstraint AddPartition AggregateKeyProperty AlgorithmProperty Aliases AllowedValuesProperty Alter
    AlterColumn AlterDistStyle AlterIndex AlterModifySqlSecurity AlterRename AlterSession AlterSet AlterSortKey
    Analyze AnalyzeColumns AnalyzeDelete AnalyzeHistogram AnalyzeListChainedRows AnalyzeSample AnalyzeStatistics
    AnalyzeValidate AnalyzeWith ApiProperty ApplicationProperty AssumeColumnConstraint AtIndex Attach
    AttachOption AutoIncrementColumnConstraint AutoIncrementProperty AutoRefreshProperty BackupProperty Binary
    BinaryColumnConstraint Block BlockCompressionProperty BuildProperty Cache CalledOnNullInputProperty
    CaseSpecificColumnConstraint CaseStatement CatalogProperty Changes CharacterSet CharacterSetColumnConstraint
    CharacterSetProperty Check CheckColumnConstraint ChecksumProperty Clone Cluster ClusterProperty
    ClusteredByProperty ClusteredColumnConstraint CollateColumnConstraint CollateProperty ColumnConstraint
    ColumnConstraintKind ColumnPosition ColumnPrefix Command Comment CommentColumnConstraint Commit
    Comprehension CompressColumnConstraint ComputeProperty ComputedColumnConstraint Condition ConditionalInsert
    Connect ConnectTo Connector Constraint Copy CopyGrantsProperty CopyParameter CopyTagsProperty Create
    Credentials CredentialsProperty DDL DML DataBlocksizeProperty DataDeletionProperty DatabaseProperty
    DateFormatColumnConstraint Declare DeclareItem DefaultColumnConstraint DefinerProperty Delete DerivedTable
    Describe Detach DictProperty DictRange DictSubProperty Directory DirectoryStage Disconnect DistKeyProperty
    DistStyleProperty DistanceNd Distribute DistributedByProperty Drop DropPartition DropPrimaryKey
    DuplicateKeyProperty DynamicProperty EmptyProperty EncodeColumnConstraint EncodeProperty EndStatement
    EngineProperty EnviromentProperty EphemeralColumnConstraint ExcludeColumnConstraint Execute
    ExecuteAsProperty ExecuteSql ExplodeOuter Export Expr Expression ExternalProperty FallbackProperty
    FileFormatProperty Final ForClause ForIn ForceProperty ForeignKey FormatJson FormatPhrase FreespaceProperty
    FromTimeZone FunctionSpecification GeneratedAsIdentityColumnConstraint GeneratedAsRowColumnConstraint Get
    Glob GlobalProperty Grant GrantPrincipal GrantPrivilege HandlerProperty HavingMax HeapProperty Heredoc Hint
    HistoricalData HybridProperty IcebergProperty IfBlock IgnoreGrantsProperty InOutColumnConstraint
    IncludeProperty Index IndexColumnConstraint IndexConstraintOption IndexParameters IndexTableHint
    InheritsProperty InlineLengthColumnConstraint InputModelProperty InputOutputFormat Insert Install
    InteractiveProperty IntervalOp Into Introducer InvisibleColumnConstraint IsolatedLoadingProperty Iterate
    JSON JSONColumnDef JSONExtractQuote JSONKeyValue JSONPathFilter JSONPathPart JSONPathRecursive
    JSONPathScript JSONPathSelector JSONPathUnion JSONSchema JSONValue JoinHint JournalProperty Kill Lambda
    LanguageProperty Leave LikeProperty ListStage LoadData LocationProperty Lock LockProperty LockingProperty
    LockingStatement LogProperty LoopBlock MacroOverload MacroOverloads MaskingPolicyColumnConstraint
    MaskingProperty Match MatchRecognize MatchRecognizeMeasure MaterializedProperty Merge
    MergeBlockRatioProperty MergeTreeTTL MergeTreeTTLAction ModelAttribute ModifyColumn ModuleProperty
    MultitableInserts Nearest NestedJSONSelect NetworkProperty NoPrimaryIndexProperty
    NonClusteredColumnConstraint NotForReplicationColumnConstraint NotNullColumnConstraint ObjectIdentifier
    OnCluster OnCommitProperty OnCondition OnConflict OnProperty OnUpdateColumnConstraint Opclass
    OpenJSONColumnDef Operator OptionsProperty OutputModelProperty OverflowTruncateBehavior Parameter
    ParameterStyleProperty Partition PartitionBoundSpec PartitionByExcluding PartitionByListProperty
    PartitionByRangeProperty PartitionByRangePropertyDynamic PartitionByTruncate PartitionId PartitionList
    PartitionRange PartitionedByBucket PartitionedByProperty PartitionedOfProperty PathColumnConstraint Per
    PeriodForSystemTimeConstraint PhysicalProperty Pivot PivotAlias PivotAny Placeholder PositionalColumn Pragma
    PreWhere Predicate PrimaryKey PrimaryKeyColumnConstraint Prior ProjectionDef
    ProjectionPolicyColumnConstraint Properties Property PropertyEQ PseudoType Pseudocolumn Put Qualify Query
    QueryBand QueryOption QueryTransform Reference Refresh RefreshTriggerProperty
    RemoteWithConnectionModelProperty RenameColumn RenameIndex RepeatBlock ReplaceColumns ReplacePartition
    Return Returning ReturnsProperty Revoke Rollback RollupIndex RollupProperty RowAccessProperty
    RowFormatDelimitedProperty RowFormatProperty RowFormatSerdeProperty SampleProperty Schema
    SchemaCommentProperty ScopeResolution SecureProperty SecurityIntegrationProperty Selectable SemanticView
    Semicolon SequenceProperties SerdeProperties SessionParameter Set SetConfigProperty SetItem SetOperation
    SetProperty SettingsProperty SharingProperty Show SkipJSONColumn Sort SortKeyProperty SqlReadWriteProperty
    SqlSecurityProperty StabilityProperty StorageHandlerProperty StorageProperty StoredProcedure Stream
    StreamingTableProperty StrictProperty SubqueryPredicate Summarize SwapTable TableColumn TableFromRows
    TableSpaceProperty Tag Tags TemporaryProperty TimeUnit TimeseriesKey TitleColumnConstraint ToTableProperty
    Transaction TransformModelProperty TransientProperty TranslateCharacters TriggerEvent TriggerExecute
    TriggerProperties TriggerReferencing TruncateTable UDTF Unary Uncache Undrop UniqueColumnConstraint
    UniqueKeyProperty UnloggedProperty UnpivotColumns Update UppercaseColumnConstraint Use UserDefinedFunction
    UsingData UsingProperty UsingTemplateProperty UuidProperty Variadic Version ViewAttributeProperty
    VirtualProperty VolatileProperty WatermarkColumnConstraint When Whens WhileBlock WithDataProperty WithFill
    WithJournalTableProperty WithOperator WithProcedureOptions WithSchemaBindingProperty
    WithSystemVersioningProperty WithTableHint XMLKeyValueOption XMLNamespace ZeroFillColumnConstraint
    """
)


# Functions sqlglot leaves untyped (``Anonymous``) that are safe in PostgreSQL. Anything not
# named here is refused, which keeps out pg_read_file, pg_sleep, set_config, nextval,
# lo_*, dblink*, pg_terminate_backend, pg_advisory_*, txid_* and whatever comes next.
ALLOWED_POSTGRES_FUNCTIONS = {
    "age", "array_append", "array_cat", "array_length", "array_lower", "array_position", "array_positions",
    "array_prepend", "array_remove", "array_replace", "array_to_json", "array_upper", "bit_length", "bool_and",
    "bool_or", "btrim", "cardinality", "ceiling", "char_length", "character_length", "date_bin", "date_part",
    "degrees", "every", "format", "generate_subscripts", "isfinite", "json_agg", "json_array_elements",
    "json_array_elements_text", "json_array_length", "json_build_array", "json_build_object", "json_each",
    "json_each_text", "json_extract_path", "json_extract_path_text", "json_object_keys", "json_typeof",
    "jsonb_agg", "jsonb_array_elements", "jsonb_array_elements_text", "jsonb_array_length", "jsonb_build_array",
    "jsonb_build_object", "jsonb_each", "jsonb_each_text", "jsonb_extract_path", "jsonb_extract_path_text",
    "jsonb_object_keys", "jsonb_path_exists", "jsonb_path_query", "jsonb_path_query_array",
    "jsonb_path_query_first", "jsonb_pretty", "jsonb_strip_nulls", "jsonb_typeof", "justify_days", "quote_literal",
    "justify_hours", "justify_interval", "log10", "lower_inf", "lpad", "ltrim", "make_date", "make_interval",
    "make_time", "make_timestamp", "make_timestamptz", "num_nonnulls", "num_nulls", "octet_length", "overlay",
    "pi", "power", "radians", "regexp_count", "regexp_instr", "regexp_match", "regexp_matches",
    "regexp_split_to_array", "regexp_split_to_table", "regexp_substr", "regr_avgx", "regr_avgy", "regr_count",
    "regr_intercept", "regr_r2", "regr_slope", "rpad", "rtrim", "split_part", "starts_with", "strpos", "substr",
    "string_agg", "timezone", "to_date", "to_hex", "to_json", "to_jsonb", "to_timestamp", "translate", "trunc",
    "upper_inf", "width_bucket", "var_pop", "var_samp", "stddev", "date_trunc", "now", "current_date",
    "all", "any", "some", "to_tsvector", "to_tsquery", "plainto_tsquery", "phraseto_tsquery", "websearch_to_tsquery",
    "ts_rank", "ts_rank_cd", "ts_headline", "json_to_record", "jsonb_to_record", "json_to_recordset",
    "jsonb_to_recordset", "array_dims", "array_ndims", "initcap", "concat",
}  # fmt: skip

ALLOWED = OPERATORS | STRUCTURE | CHECKED | ALLOWED_TYPED_FUNCTIONS
REFUSED = REFUSED_FUNCTIONS | REFUSED_SYNTAX
