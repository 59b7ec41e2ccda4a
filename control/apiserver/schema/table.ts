/**
 * The type table: every message reachable from the kinds Weft serves, as the Go structs of
 * k8s.io/api and k8s.io/apimachinery v1.32 declare them (the same structs whose `generated.proto`
 * kubectl and client-go marshal). One block per message, one line per field:
 *
 *   <jsonName> <protobuf field number> <type> [omitempty] [inline] [proto=<protobuf name>]
 *
 * - number 0: a JSON-only field (TypeMeta's apiVersion/kind: in protobuf they travel in the envelope).
 * - type: `string`, `bool`, `int32`, `int64`, `bytes` ([]byte), a message (`core.PodSpec`,
 *   `meta.ObjectMeta`, packages core, apps, discovery, coordination, autoscaling, meta), or one of
 *   the types with their own JSON form: `Time`, `MicroTime`, `IntOrString`, `Quantity`, `FieldsV1`.
 *   Prefixes: `*` a Go pointer (present even when zero), `[]` repeated, `map[string]V` a map
 *   (protobuf: repeated entry messages {1: key, 2: value}).
 * - omitempty: the Go json tag has `,omitempty` (zero scalars, empty slices and maps are left out;
 *   Go never leaves out a non-pointer struct).
 * - inline: an embedded struct whose fields JSON flattens into the parent (`json:",inline"`),
 *   while protobuf keeps it as a nested message under the given number.
 *
 * Field order is the Go declaration order, which is the order encoding/json writes keys in.
 * ./gotypes.test.ts regenerates each block from the Go struct types compiled into kubectl v1.32 and
 * compares it line by line; ./descriptors.test.ts checks names, numbers, repetition and message
 * types against the upstream `generated.proto` descriptors in the same binary, and fails when
 * upstream has a field of a covered message that this table lacks.
 */
export const TABLE = `
apps.Deployment
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  spec 2 apps.DeploymentSpec omitempty
  status 3 apps.DeploymentStatus omitempty
apps.DeploymentCondition
  type 1 string
  status 2 string
  lastUpdateTime 6 Time omitempty
  lastTransitionTime 7 Time omitempty
  reason 4 string omitempty
  message 5 string omitempty
apps.DeploymentSpec
  replicas 1 *int32 omitempty
  selector 2 *meta.LabelSelector
  template 3 core.PodTemplateSpec
  strategy 4 apps.DeploymentStrategy omitempty
  minReadySeconds 5 int32 omitempty
  revisionHistoryLimit 6 *int32 omitempty
  paused 7 bool omitempty
  progressDeadlineSeconds 9 *int32 omitempty
apps.DeploymentStatus
  observedGeneration 1 int64 omitempty
  replicas 2 int32 omitempty
  updatedReplicas 3 int32 omitempty
  readyReplicas 7 int32 omitempty
  availableReplicas 4 int32 omitempty
  unavailableReplicas 5 int32 omitempty
  conditions 6 []apps.DeploymentCondition omitempty
  collisionCount 8 *int32 omitempty
apps.DeploymentStrategy
  type 1 string omitempty
  rollingUpdate 2 *apps.RollingUpdateDeployment omitempty
apps.ReplicaSet
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  spec 2 apps.ReplicaSetSpec omitempty
  status 3 apps.ReplicaSetStatus omitempty
apps.ReplicaSetCondition
  type 1 string
  status 2 string
  lastTransitionTime 3 Time omitempty
  reason 4 string omitempty
  message 5 string omitempty
apps.ReplicaSetSpec
  replicas 1 *int32 omitempty
  minReadySeconds 4 int32 omitempty
  selector 2 *meta.LabelSelector
  template 3 core.PodTemplateSpec omitempty
apps.ReplicaSetStatus
  replicas 1 int32
  fullyLabeledReplicas 2 int32 omitempty
  readyReplicas 4 int32 omitempty
  availableReplicas 5 int32 omitempty
  observedGeneration 3 int64 omitempty
  conditions 6 []apps.ReplicaSetCondition omitempty
apps.RollingUpdateDeployment
  maxUnavailable 1 *IntOrString omitempty
  maxSurge 2 *IntOrString omitempty
autoscaling.Scale
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  spec 2 autoscaling.ScaleSpec omitempty
  status 3 autoscaling.ScaleStatus omitempty
autoscaling.ScaleSpec
  replicas 1 int32 omitempty
autoscaling.ScaleStatus
  replicas 1 int32
  selector 2 string omitempty
coordination.Lease
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  spec 2 coordination.LeaseSpec omitempty
coordination.LeaseSpec
  holderIdentity 1 *string omitempty
  leaseDurationSeconds 2 *int32 omitempty
  acquireTime 3 *MicroTime omitempty
  renewTime 4 *MicroTime omitempty
  leaseTransitions 5 *int32 omitempty
  strategy 6 *string omitempty
  preferredHolder 7 *string omitempty
core.AWSElasticBlockStoreVolumeSource
  volumeID 1 string
  fsType 2 string omitempty
  partition 3 int32 omitempty
  readOnly 4 bool omitempty
core.Affinity
  nodeAffinity 1 *core.NodeAffinity omitempty
  podAffinity 2 *core.PodAffinity omitempty
  podAntiAffinity 3 *core.PodAntiAffinity omitempty
core.AppArmorProfile
  type 1 string
  localhostProfile 2 *string omitempty
core.AttachedVolume
  name 1 string
  devicePath 2 string
core.AzureDiskVolumeSource
  diskName 1 string
  diskURI 2 string
  cachingMode 3 *string omitempty
  fsType 4 *string omitempty
  readOnly 5 *bool omitempty
  kind 6 *string omitempty
core.AzureFileVolumeSource
  secretName 1 string
  shareName 2 string
  readOnly 3 bool omitempty
core.Binding
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  target 2 core.ObjectReference
core.CSIVolumeSource
  driver 1 string
  readOnly 2 *bool omitempty
  fsType 3 *string omitempty
  volumeAttributes 4 map[string]string omitempty
  nodePublishSecretRef 5 *core.LocalObjectReference omitempty
core.Capabilities
  add 1 []string omitempty
  drop 2 []string omitempty
core.CephFSVolumeSource
  monitors 1 []string
  path 2 string omitempty
  user 3 string omitempty
  secretFile 4 string omitempty
  secretRef 5 *core.LocalObjectReference omitempty
  readOnly 6 bool omitempty
core.CinderVolumeSource
  volumeID 1 string
  fsType 2 string omitempty
  readOnly 3 bool omitempty
  secretRef 4 *core.LocalObjectReference omitempty
core.ClientIPConfig
  timeoutSeconds 1 *int32 omitempty
core.ClusterTrustBundleProjection
  name 1 *string omitempty
  signerName 2 *string omitempty
  labelSelector 3 *meta.LabelSelector omitempty
  optional 5 *bool omitempty
  path 4 string
core.ConfigMap
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  immutable 4 *bool omitempty
  data 2 map[string]string omitempty
  binaryData 3 map[string]bytes omitempty
core.ConfigMapEnvSource
  localObjectReference 1 core.LocalObjectReference inline
  optional 2 *bool omitempty
core.ConfigMapKeySelector
  localObjectReference 1 core.LocalObjectReference inline
  key 2 string
  optional 3 *bool omitempty
core.ConfigMapNodeConfigSource
  namespace 1 string
  name 2 string
  uid 3 string omitempty
  resourceVersion 4 string omitempty
  kubeletConfigKey 5 string
core.ConfigMapProjection
  localObjectReference 1 core.LocalObjectReference inline
  items 2 []core.KeyToPath omitempty
  optional 4 *bool omitempty
core.ConfigMapVolumeSource
  localObjectReference 1 core.LocalObjectReference inline
  items 2 []core.KeyToPath omitempty
  defaultMode 3 *int32 omitempty
  optional 4 *bool omitempty
core.Container
  name 1 string
  image 2 string omitempty
  command 3 []string omitempty
  args 4 []string omitempty
  workingDir 5 string omitempty
  ports 6 []core.ContainerPort omitempty
  envFrom 19 []core.EnvFromSource omitempty
  env 7 []core.EnvVar omitempty
  resources 8 core.ResourceRequirements omitempty
  resizePolicy 23 []core.ContainerResizePolicy omitempty
  restartPolicy 24 *string omitempty
  volumeMounts 9 []core.VolumeMount omitempty
  volumeDevices 21 []core.VolumeDevice omitempty
  livenessProbe 10 *core.Probe omitempty
  readinessProbe 11 *core.Probe omitempty
  startupProbe 22 *core.Probe omitempty
  lifecycle 12 *core.Lifecycle omitempty
  terminationMessagePath 13 string omitempty
  terminationMessagePolicy 20 string omitempty
  imagePullPolicy 14 string omitempty
  securityContext 15 *core.SecurityContext omitempty
  stdin 16 bool omitempty
  stdinOnce 17 bool omitempty
  tty 18 bool omitempty
core.ContainerImage
  names 1 []string
  sizeBytes 2 int64 omitempty
core.ContainerPort
  name 1 string omitempty
  hostPort 2 int32 omitempty
  containerPort 3 int32
  protocol 4 string omitempty
  hostIP 5 string omitempty
core.ContainerResizePolicy
  resourceName 1 string
  restartPolicy 2 string
core.ContainerState
  waiting 1 *core.ContainerStateWaiting omitempty
  running 2 *core.ContainerStateRunning omitempty
  terminated 3 *core.ContainerStateTerminated omitempty
core.ContainerStateRunning
  startedAt 1 Time omitempty
core.ContainerStateTerminated
  exitCode 1 int32
  signal 2 int32 omitempty
  reason 3 string omitempty
  message 4 string omitempty
  startedAt 5 Time omitempty
  finishedAt 6 Time omitempty
  containerID 7 string omitempty
core.ContainerStateWaiting
  reason 1 string omitempty
  message 2 string omitempty
core.ContainerStatus
  name 1 string
  state 2 core.ContainerState omitempty
  lastState 3 core.ContainerState omitempty
  ready 4 bool
  restartCount 5 int32
  image 6 string
  imageID 7 string
  containerID 8 string omitempty
  started 9 *bool omitempty
  allocatedResources 10 map[string]Quantity omitempty
  resources 11 *core.ResourceRequirements omitempty
  volumeMounts 12 []core.VolumeMountStatus omitempty
  user 13 *core.ContainerUser omitempty
  allocatedResourcesStatus 14 []core.ResourceStatus omitempty
core.ContainerUser
  linux 1 *core.LinuxContainerUser omitempty
core.DaemonEndpoint
  Port 1 int32
core.DownwardAPIProjection
  items 1 []core.DownwardAPIVolumeFile omitempty
core.DownwardAPIVolumeFile
  path 1 string
  fieldRef 2 *core.ObjectFieldSelector omitempty
  resourceFieldRef 3 *core.ResourceFieldSelector omitempty
  mode 4 *int32 omitempty
core.DownwardAPIVolumeSource
  items 1 []core.DownwardAPIVolumeFile omitempty
  defaultMode 2 *int32 omitempty
core.EmptyDirVolumeSource
  medium 1 string omitempty
  sizeLimit 2 *Quantity omitempty
core.EndpointAddress
  ip 1 string
  hostname 3 string omitempty
  nodeName 4 *string omitempty
  targetRef 2 *core.ObjectReference omitempty
core.EndpointPort
  name 1 string omitempty
  port 2 int32
  protocol 3 string omitempty
  appProtocol 4 *string omitempty
core.EndpointSubset
  addresses 1 []core.EndpointAddress omitempty
  notReadyAddresses 2 []core.EndpointAddress omitempty
  ports 3 []core.EndpointPort omitempty
core.Endpoints
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  subsets 2 []core.EndpointSubset omitempty
core.EnvFromSource
  prefix 1 string omitempty
  configMapRef 2 *core.ConfigMapEnvSource omitempty
  secretRef 3 *core.SecretEnvSource omitempty
core.EnvVar
  name 1 string
  value 2 string omitempty
  valueFrom 3 *core.EnvVarSource omitempty
core.EnvVarSource
  fieldRef 1 *core.ObjectFieldSelector omitempty
  resourceFieldRef 2 *core.ResourceFieldSelector omitempty
  configMapKeyRef 3 *core.ConfigMapKeySelector omitempty
  secretKeyRef 4 *core.SecretKeySelector omitempty
core.EphemeralContainer
  ephemeralContainerCommon 1 core.EphemeralContainerCommon inline
  targetContainerName 2 string omitempty
core.EphemeralContainerCommon
  name 1 string
  image 2 string omitempty
  command 3 []string omitempty
  args 4 []string omitempty
  workingDir 5 string omitempty
  ports 6 []core.ContainerPort omitempty
  envFrom 19 []core.EnvFromSource omitempty
  env 7 []core.EnvVar omitempty
  resources 8 core.ResourceRequirements omitempty
  resizePolicy 23 []core.ContainerResizePolicy omitempty
  restartPolicy 24 *string omitempty
  volumeMounts 9 []core.VolumeMount omitempty
  volumeDevices 21 []core.VolumeDevice omitempty
  livenessProbe 10 *core.Probe omitempty
  readinessProbe 11 *core.Probe omitempty
  startupProbe 22 *core.Probe omitempty
  lifecycle 12 *core.Lifecycle omitempty
  terminationMessagePath 13 string omitempty
  terminationMessagePolicy 20 string omitempty
  imagePullPolicy 14 string omitempty
  securityContext 15 *core.SecurityContext omitempty
  stdin 16 bool omitempty
  stdinOnce 17 bool omitempty
  tty 18 bool omitempty
core.EphemeralVolumeSource
  volumeClaimTemplate 1 *core.PersistentVolumeClaimTemplate omitempty
core.Event
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta
  involvedObject 2 core.ObjectReference
  reason 3 string omitempty
  message 4 string omitempty
  source 5 core.EventSource omitempty
  firstTimestamp 6 Time omitempty
  lastTimestamp 7 Time omitempty
  count 8 int32 omitempty
  type 9 string omitempty
  eventTime 10 MicroTime omitempty
  series 11 *core.EventSeries omitempty
  action 12 string omitempty
  related 13 *core.ObjectReference omitempty
  reportingComponent 14 string
  reportingInstance 15 string
core.EventSeries
  count 1 int32 omitempty
  lastObservedTime 2 MicroTime omitempty
core.EventSource
  component 1 string omitempty
  host 2 string omitempty
core.ExecAction
  command 1 []string omitempty
core.FCVolumeSource
  targetWWNs 1 []string omitempty
  lun 2 *int32 omitempty
  fsType 3 string omitempty
  readOnly 4 bool omitempty
  wwids 5 []string omitempty
core.FlexVolumeSource
  driver 1 string
  fsType 2 string omitempty
  secretRef 3 *core.LocalObjectReference omitempty
  readOnly 4 bool omitempty
  options 5 map[string]string omitempty
core.FlockerVolumeSource
  datasetName 1 string omitempty
  datasetUUID 2 string omitempty
core.GCEPersistentDiskVolumeSource
  pdName 1 string
  fsType 2 string omitempty
  partition 3 int32 omitempty
  readOnly 4 bool omitempty
core.GRPCAction
  port 1 int32
  service 2 *string
core.GitRepoVolumeSource
  repository 1 string
  revision 2 string omitempty
  directory 3 string omitempty
core.GlusterfsVolumeSource
  endpoints 1 string
  path 2 string
  readOnly 3 bool omitempty
core.HTTPGetAction
  path 1 string omitempty
  port 2 IntOrString
  host 3 string omitempty
  scheme 4 string omitempty
  httpHeaders 5 []core.HTTPHeader omitempty
core.HTTPHeader
  name 1 string
  value 2 string
core.HostAlias
  ip 1 string
  hostnames 2 []string omitempty
core.HostIP
  ip 1 string
core.HostPathVolumeSource
  path 1 string
  type 2 *string omitempty
core.ISCSIVolumeSource
  targetPortal 1 string
  iqn 2 string
  lun 3 int32
  iscsiInterface 4 string omitempty
  fsType 5 string omitempty
  readOnly 6 bool omitempty
  portals 7 []string omitempty
  chapAuthDiscovery 8 bool omitempty
  chapAuthSession 11 bool omitempty
  secretRef 10 *core.LocalObjectReference omitempty
  initiatorName 12 *string omitempty
core.ImageVolumeSource
  reference 1 string omitempty
  pullPolicy 2 string omitempty
core.KeyToPath
  key 1 string
  path 2 string
  mode 3 *int32 omitempty
core.Lifecycle
  postStart 1 *core.LifecycleHandler omitempty
  preStop 2 *core.LifecycleHandler omitempty
core.LifecycleHandler
  exec 1 *core.ExecAction omitempty
  httpGet 2 *core.HTTPGetAction omitempty
  tcpSocket 3 *core.TCPSocketAction omitempty
  sleep 4 *core.SleepAction omitempty
core.LinuxContainerUser
  uid 1 int64
  gid 2 int64
  supplementalGroups 3 []int64 omitempty
core.LoadBalancerIngress
  ip 1 string omitempty
  hostname 2 string omitempty
  ipMode 3 *string omitempty
  ports 4 []core.PortStatus omitempty
core.LoadBalancerStatus
  ingress 1 []core.LoadBalancerIngress omitempty
core.LocalObjectReference
  name 1 string omitempty
core.NFSVolumeSource
  server 1 string
  path 2 string
  readOnly 3 bool omitempty
core.Namespace
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  spec 2 core.NamespaceSpec omitempty
  status 3 core.NamespaceStatus omitempty
core.NamespaceCondition
  type 1 string
  status 2 string
  lastTransitionTime 4 Time omitempty
  reason 5 string omitempty
  message 6 string omitempty
core.NamespaceSpec
  finalizers 1 []string omitempty
core.NamespaceStatus
  phase 1 string omitempty
  conditions 2 []core.NamespaceCondition omitempty
core.Node
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  spec 2 core.NodeSpec omitempty
  status 3 core.NodeStatus omitempty
core.NodeAddress
  type 1 string
  address 2 string
core.NodeAffinity
  requiredDuringSchedulingIgnoredDuringExecution 1 *core.NodeSelector omitempty
  preferredDuringSchedulingIgnoredDuringExecution 2 []core.PreferredSchedulingTerm omitempty
core.NodeCondition
  type 1 string
  status 2 string
  lastHeartbeatTime 3 Time omitempty
  lastTransitionTime 4 Time omitempty
  reason 5 string omitempty
  message 6 string omitempty
core.NodeConfigSource
  configMap 2 *core.ConfigMapNodeConfigSource omitempty
core.NodeConfigStatus
  assigned 1 *core.NodeConfigSource omitempty
  active 2 *core.NodeConfigSource omitempty
  lastKnownGood 3 *core.NodeConfigSource omitempty
  error 4 string omitempty
core.NodeDaemonEndpoints
  kubeletEndpoint 1 core.DaemonEndpoint omitempty
core.NodeFeatures
  supplementalGroupsPolicy 1 *bool omitempty
core.NodeRuntimeHandler
  name 1 string
  features 2 *core.NodeRuntimeHandlerFeatures omitempty
core.NodeRuntimeHandlerFeatures
  recursiveReadOnlyMounts 1 *bool omitempty
  userNamespaces 2 *bool omitempty
core.NodeSelector
  nodeSelectorTerms 1 []core.NodeSelectorTerm
core.NodeSelectorRequirement
  key 1 string
  operator 2 string
  values 3 []string omitempty
core.NodeSelectorTerm
  matchExpressions 1 []core.NodeSelectorRequirement omitempty
  matchFields 2 []core.NodeSelectorRequirement omitempty
core.NodeSpec
  podCIDR 1 string omitempty
  podCIDRs 7 []string omitempty
  providerID 3 string omitempty
  unschedulable 4 bool omitempty
  taints 5 []core.Taint omitempty
  configSource 6 *core.NodeConfigSource omitempty
  externalID 2 string omitempty
core.NodeStatus
  capacity 1 map[string]Quantity omitempty
  allocatable 2 map[string]Quantity omitempty
  phase 3 string omitempty
  conditions 4 []core.NodeCondition omitempty
  addresses 5 []core.NodeAddress omitempty
  daemonEndpoints 6 core.NodeDaemonEndpoints omitempty
  nodeInfo 7 core.NodeSystemInfo omitempty
  images 8 []core.ContainerImage omitempty
  volumesInUse 9 []string omitempty
  volumesAttached 10 []core.AttachedVolume omitempty
  config 11 *core.NodeConfigStatus omitempty
  runtimeHandlers 12 []core.NodeRuntimeHandler omitempty
  features 13 *core.NodeFeatures omitempty
core.NodeSystemInfo
  machineID 1 string
  systemUUID 2 string
  bootID 3 string
  kernelVersion 4 string
  osImage 5 string
  containerRuntimeVersion 6 string
  kubeletVersion 7 string
  kubeProxyVersion 8 string
  operatingSystem 9 string
  architecture 10 string
core.ObjectFieldSelector
  apiVersion 1 string omitempty
  fieldPath 2 string
core.ObjectReference
  kind 1 string omitempty
  namespace 2 string omitempty
  name 3 string omitempty
  uid 4 string omitempty
  apiVersion 5 string omitempty
  resourceVersion 6 string omitempty
  fieldPath 7 string omitempty
core.PersistentVolumeClaimSpec
  accessModes 1 []string omitempty
  selector 4 *meta.LabelSelector omitempty
  resources 2 core.VolumeResourceRequirements omitempty
  volumeName 3 string omitempty
  storageClassName 5 *string omitempty
  volumeMode 6 *string omitempty
  dataSource 7 *core.TypedLocalObjectReference omitempty
  dataSourceRef 8 *core.TypedObjectReference omitempty
  volumeAttributesClassName 9 *string omitempty
core.PersistentVolumeClaimTemplate
  metadata 1 meta.ObjectMeta omitempty
  spec 2 core.PersistentVolumeClaimSpec
core.PersistentVolumeClaimVolumeSource
  claimName 1 string
  readOnly 2 bool omitempty
core.PhotonPersistentDiskVolumeSource
  pdID 1 string
  fsType 2 string omitempty
core.Pod
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  spec 2 core.PodSpec omitempty
  status 3 core.PodStatus omitempty
core.PodAffinity
  requiredDuringSchedulingIgnoredDuringExecution 1 []core.PodAffinityTerm omitempty
  preferredDuringSchedulingIgnoredDuringExecution 2 []core.WeightedPodAffinityTerm omitempty
core.PodAffinityTerm
  labelSelector 1 *meta.LabelSelector omitempty
  namespaces 2 []string omitempty
  topologyKey 3 string
  namespaceSelector 4 *meta.LabelSelector omitempty
  matchLabelKeys 5 []string omitempty
  mismatchLabelKeys 6 []string omitempty
core.PodAntiAffinity
  requiredDuringSchedulingIgnoredDuringExecution 1 []core.PodAffinityTerm omitempty
  preferredDuringSchedulingIgnoredDuringExecution 2 []core.WeightedPodAffinityTerm omitempty
core.PodCondition
  type 1 string
  status 2 string
  lastProbeTime 3 Time omitempty
  lastTransitionTime 4 Time omitempty
  reason 5 string omitempty
  message 6 string omitempty
core.PodDNSConfig
  nameservers 1 []string omitempty
  searches 2 []string omitempty
  options 3 []core.PodDNSConfigOption omitempty
core.PodDNSConfigOption
  name 1 string omitempty
  value 2 *string omitempty
core.PodIP
  ip 1 string
core.PodOS
  name 1 string
core.PodReadinessGate
  conditionType 1 string
core.PodResourceClaim
  name 1 string
  resourceClaimName 3 *string omitempty
  resourceClaimTemplateName 4 *string omitempty
core.PodResourceClaimStatus
  name 1 string
  resourceClaimName 2 *string omitempty
core.PodSchedulingGate
  name 1 string
core.PodSecurityContext
  seLinuxOptions 1 *core.SELinuxOptions omitempty
  windowsOptions 8 *core.WindowsSecurityContextOptions omitempty
  runAsUser 2 *int64 omitempty
  runAsGroup 6 *int64 omitempty
  runAsNonRoot 3 *bool omitempty
  supplementalGroups 4 []int64 omitempty
  supplementalGroupsPolicy 12 *string omitempty
  fsGroup 5 *int64 omitempty
  sysctls 7 []core.Sysctl omitempty
  fsGroupChangePolicy 9 *string omitempty
  seccompProfile 10 *core.SeccompProfile omitempty
  appArmorProfile 11 *core.AppArmorProfile omitempty
  seLinuxChangePolicy 13 *string omitempty
core.PodSpec
  volumes 1 []core.Volume omitempty
  initContainers 20 []core.Container omitempty
  containers 2 []core.Container
  ephemeralContainers 34 []core.EphemeralContainer omitempty
  restartPolicy 3 string omitempty
  terminationGracePeriodSeconds 4 *int64 omitempty
  activeDeadlineSeconds 5 *int64 omitempty
  dnsPolicy 6 string omitempty
  nodeSelector 7 map[string]string omitempty
  serviceAccountName 8 string omitempty
  serviceAccount 9 string omitempty
  automountServiceAccountToken 21 *bool omitempty
  nodeName 10 string omitempty
  hostNetwork 11 bool omitempty
  hostPID 12 bool omitempty
  hostIPC 13 bool omitempty
  shareProcessNamespace 27 *bool omitempty
  securityContext 14 *core.PodSecurityContext omitempty
  imagePullSecrets 15 []core.LocalObjectReference omitempty
  hostname 16 string omitempty
  subdomain 17 string omitempty
  affinity 18 *core.Affinity omitempty
  schedulerName 19 string omitempty
  tolerations 22 []core.Toleration omitempty
  hostAliases 23 []core.HostAlias omitempty
  priorityClassName 24 string omitempty
  priority 25 *int32 omitempty
  dnsConfig 26 *core.PodDNSConfig omitempty
  readinessGates 28 []core.PodReadinessGate omitempty
  runtimeClassName 29 *string omitempty
  enableServiceLinks 30 *bool omitempty
  preemptionPolicy 31 *string omitempty
  overhead 32 map[string]Quantity omitempty
  topologySpreadConstraints 33 []core.TopologySpreadConstraint omitempty
  setHostnameAsFQDN 35 *bool omitempty
  os 36 *core.PodOS omitempty
  hostUsers 37 *bool omitempty
  schedulingGates 38 []core.PodSchedulingGate omitempty
  resourceClaims 39 []core.PodResourceClaim omitempty
  resources 40 *core.ResourceRequirements omitempty
core.PodStatus
  phase 1 string omitempty
  conditions 2 []core.PodCondition omitempty
  message 3 string omitempty
  reason 4 string omitempty
  nominatedNodeName 11 string omitempty
  hostIP 5 string omitempty
  hostIPs 16 []core.HostIP omitempty
  podIP 6 string omitempty
  podIPs 12 []core.PodIP omitempty
  startTime 7 *Time omitempty
  initContainerStatuses 10 []core.ContainerStatus omitempty
  containerStatuses 8 []core.ContainerStatus omitempty
  qosClass 9 string omitempty
  ephemeralContainerStatuses 13 []core.ContainerStatus omitempty
  resize 14 string omitempty
  resourceClaimStatuses 15 []core.PodResourceClaimStatus omitempty
core.PodTemplateSpec
  metadata 1 meta.ObjectMeta omitempty
  spec 2 core.PodSpec omitempty
core.PortStatus
  port 1 int32
  protocol 2 string
  error 3 *string omitempty
core.PortworxVolumeSource
  volumeID 1 string
  fsType 2 string omitempty
  readOnly 3 bool omitempty
core.PreferredSchedulingTerm
  weight 1 int32
  preference 2 core.NodeSelectorTerm
core.Probe
  handler 1 core.ProbeHandler inline
  initialDelaySeconds 2 int32 omitempty
  timeoutSeconds 3 int32 omitempty
  periodSeconds 4 int32 omitempty
  successThreshold 5 int32 omitempty
  failureThreshold 6 int32 omitempty
  terminationGracePeriodSeconds 7 *int64 omitempty
core.ProbeHandler
  exec 1 *core.ExecAction omitempty
  httpGet 2 *core.HTTPGetAction omitempty
  tcpSocket 3 *core.TCPSocketAction omitempty
  grpc 4 *core.GRPCAction omitempty
core.ProjectedVolumeSource
  sources 1 []core.VolumeProjection
  defaultMode 2 *int32 omitempty
core.QuobyteVolumeSource
  registry 1 string
  volume 2 string
  readOnly 3 bool omitempty
  user 4 string omitempty
  group 5 string omitempty
  tenant 6 string omitempty
core.RBDVolumeSource
  monitors 1 []string
  image 2 string
  fsType 3 string omitempty
  pool 4 string omitempty
  user 5 string omitempty
  keyring 6 string omitempty
  secretRef 7 *core.LocalObjectReference omitempty
  readOnly 8 bool omitempty
core.ResourceClaim
  name 1 string
  request 2 string omitempty
core.ResourceFieldSelector
  containerName 1 string omitempty
  resource 2 string
  divisor 3 Quantity omitempty
core.ResourceHealth
  resourceID 1 string
  health 2 string omitempty
core.ResourceRequirements
  limits 1 map[string]Quantity omitempty
  requests 2 map[string]Quantity omitempty
  claims 3 []core.ResourceClaim omitempty
core.ResourceStatus
  name 1 string
  resources 2 []core.ResourceHealth omitempty
core.SELinuxOptions
  user 1 string omitempty
  role 2 string omitempty
  type 3 string omitempty
  level 4 string omitempty
core.ScaleIOVolumeSource
  gateway 1 string
  system 2 string
  secretRef 3 *core.LocalObjectReference
  sslEnabled 4 bool omitempty
  protectionDomain 5 string omitempty
  storagePool 6 string omitempty
  storageMode 7 string omitempty
  volumeName 8 string omitempty
  fsType 9 string omitempty
  readOnly 10 bool omitempty
core.SeccompProfile
  type 1 string
  localhostProfile 2 *string omitempty
core.Secret
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  immutable 5 *bool omitempty
  data 2 map[string]bytes omitempty
  stringData 4 map[string]string omitempty
  type 3 string omitempty
core.SecretEnvSource
  localObjectReference 1 core.LocalObjectReference inline
  optional 2 *bool omitempty
core.SecretKeySelector
  localObjectReference 1 core.LocalObjectReference inline
  key 2 string
  optional 3 *bool omitempty
core.SecretProjection
  localObjectReference 1 core.LocalObjectReference inline
  items 2 []core.KeyToPath omitempty
  optional 4 *bool omitempty
core.SecretVolumeSource
  secretName 1 string omitempty
  items 2 []core.KeyToPath omitempty
  defaultMode 3 *int32 omitempty
  optional 4 *bool omitempty
core.SecurityContext
  capabilities 1 *core.Capabilities omitempty
  privileged 2 *bool omitempty
  seLinuxOptions 3 *core.SELinuxOptions omitempty
  windowsOptions 10 *core.WindowsSecurityContextOptions omitempty
  runAsUser 4 *int64 omitempty
  runAsGroup 8 *int64 omitempty
  runAsNonRoot 5 *bool omitempty
  readOnlyRootFilesystem 6 *bool omitempty
  allowPrivilegeEscalation 7 *bool omitempty
  procMount 9 *string omitempty
  seccompProfile 11 *core.SeccompProfile omitempty
  appArmorProfile 12 *core.AppArmorProfile omitempty
core.Service
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  spec 2 core.ServiceSpec omitempty
  status 3 core.ServiceStatus omitempty
core.ServiceAccount
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  secrets 2 []core.ObjectReference omitempty
  imagePullSecrets 3 []core.LocalObjectReference omitempty
  automountServiceAccountToken 4 *bool omitempty
core.ServiceAccountTokenProjection
  audience 1 string omitempty
  expirationSeconds 2 *int64 omitempty
  path 3 string
core.ServicePort
  name 1 string omitempty
  protocol 2 string omitempty
  appProtocol 6 *string omitempty
  port 3 int32
  targetPort 4 IntOrString omitempty
  nodePort 5 int32 omitempty
core.ServiceSpec
  ports 1 []core.ServicePort omitempty
  selector 2 map[string]string omitempty
  clusterIP 3 string omitempty
  clusterIPs 18 []string omitempty
  type 4 string omitempty
  externalIPs 5 []string omitempty
  sessionAffinity 7 string omitempty
  loadBalancerIP 8 string omitempty
  loadBalancerSourceRanges 9 []string omitempty
  externalName 10 string omitempty
  externalTrafficPolicy 11 string omitempty
  healthCheckNodePort 12 int32 omitempty
  publishNotReadyAddresses 13 bool omitempty
  sessionAffinityConfig 14 *core.SessionAffinityConfig omitempty
  ipFamilies 19 []string omitempty
  ipFamilyPolicy 17 *string omitempty
  allocateLoadBalancerNodePorts 20 *bool omitempty
  loadBalancerClass 21 *string omitempty
  internalTrafficPolicy 22 *string omitempty
  trafficDistribution 23 *string omitempty
core.ServiceStatus
  loadBalancer 1 core.LoadBalancerStatus omitempty
  conditions 2 []meta.Condition omitempty
core.SessionAffinityConfig
  clientIP 1 *core.ClientIPConfig omitempty
core.SleepAction
  seconds 1 int64
core.StorageOSVolumeSource
  volumeName 1 string omitempty
  volumeNamespace 2 string omitempty
  fsType 3 string omitempty
  readOnly 4 bool omitempty
  secretRef 5 *core.LocalObjectReference omitempty
core.Sysctl
  name 1 string
  value 2 string
core.TCPSocketAction
  port 1 IntOrString
  host 2 string omitempty
core.Taint
  key 1 string
  value 2 string omitempty
  effect 3 string
  timeAdded 4 *Time omitempty
core.Toleration
  key 1 string omitempty
  operator 2 string omitempty
  value 3 string omitempty
  effect 4 string omitempty
  tolerationSeconds 5 *int64 omitempty
core.TopologySpreadConstraint
  maxSkew 1 int32
  topologyKey 2 string
  whenUnsatisfiable 3 string
  labelSelector 4 *meta.LabelSelector omitempty
  minDomains 5 *int32 omitempty
  nodeAffinityPolicy 6 *string omitempty
  nodeTaintsPolicy 7 *string omitempty
  matchLabelKeys 8 []string omitempty
core.TypedLocalObjectReference
  apiGroup 1 *string
  kind 2 string
  name 3 string
core.TypedObjectReference
  apiGroup 1 *string
  kind 2 string
  name 3 string
  namespace 4 *string omitempty
core.Volume
  name 1 string
  volumeSource 2 core.VolumeSource inline
core.VolumeDevice
  name 1 string
  devicePath 2 string
core.VolumeMount
  name 1 string
  readOnly 2 bool omitempty
  recursiveReadOnly 7 *string omitempty
  mountPath 3 string
  subPath 4 string omitempty
  mountPropagation 5 *string omitempty
  subPathExpr 6 string omitempty
core.VolumeMountStatus
  name 1 string
  mountPath 2 string
  readOnly 3 bool omitempty
  recursiveReadOnly 4 *string omitempty
core.VolumeProjection
  secret 1 *core.SecretProjection omitempty
  downwardAPI 2 *core.DownwardAPIProjection omitempty
  configMap 3 *core.ConfigMapProjection omitempty
  serviceAccountToken 4 *core.ServiceAccountTokenProjection omitempty
  clusterTrustBundle 5 *core.ClusterTrustBundleProjection omitempty
core.VolumeResourceRequirements
  limits 1 map[string]Quantity omitempty
  requests 2 map[string]Quantity omitempty
core.VolumeSource
  hostPath 1 *core.HostPathVolumeSource omitempty
  emptyDir 2 *core.EmptyDirVolumeSource omitempty
  gcePersistentDisk 3 *core.GCEPersistentDiskVolumeSource omitempty
  awsElasticBlockStore 4 *core.AWSElasticBlockStoreVolumeSource omitempty
  gitRepo 5 *core.GitRepoVolumeSource omitempty
  secret 6 *core.SecretVolumeSource omitempty
  nfs 7 *core.NFSVolumeSource omitempty
  iscsi 8 *core.ISCSIVolumeSource omitempty
  glusterfs 9 *core.GlusterfsVolumeSource omitempty
  persistentVolumeClaim 10 *core.PersistentVolumeClaimVolumeSource omitempty
  rbd 11 *core.RBDVolumeSource omitempty
  flexVolume 12 *core.FlexVolumeSource omitempty
  cinder 13 *core.CinderVolumeSource omitempty
  cephfs 14 *core.CephFSVolumeSource omitempty
  flocker 15 *core.FlockerVolumeSource omitempty
  downwardAPI 16 *core.DownwardAPIVolumeSource omitempty
  fc 17 *core.FCVolumeSource omitempty
  azureFile 18 *core.AzureFileVolumeSource omitempty
  configMap 19 *core.ConfigMapVolumeSource omitempty
  vsphereVolume 20 *core.VsphereVirtualDiskVolumeSource omitempty
  quobyte 21 *core.QuobyteVolumeSource omitempty
  azureDisk 22 *core.AzureDiskVolumeSource omitempty
  photonPersistentDisk 23 *core.PhotonPersistentDiskVolumeSource omitempty
  projected 26 *core.ProjectedVolumeSource omitempty
  portworxVolume 24 *core.PortworxVolumeSource omitempty
  scaleIO 25 *core.ScaleIOVolumeSource omitempty
  storageos 27 *core.StorageOSVolumeSource omitempty
  csi 28 *core.CSIVolumeSource omitempty
  ephemeral 29 *core.EphemeralVolumeSource omitempty
  image 30 *core.ImageVolumeSource omitempty
core.VsphereVirtualDiskVolumeSource
  volumePath 1 string
  fsType 2 string omitempty
  storagePolicyName 3 string omitempty
  storagePolicyID 4 string omitempty
core.WeightedPodAffinityTerm
  weight 1 int32
  podAffinityTerm 2 core.PodAffinityTerm
core.WindowsSecurityContextOptions
  gmsaCredentialSpecName 1 *string omitempty
  gmsaCredentialSpec 2 *string omitempty
  runAsUserName 3 *string omitempty
  hostProcess 4 *bool omitempty
discovery.Endpoint
  addresses 1 []string
  conditions 2 discovery.EndpointConditions omitempty
  hostname 3 *string omitempty
  targetRef 4 *core.ObjectReference omitempty
  deprecatedTopology 5 map[string]string omitempty
  nodeName 6 *string omitempty
  zone 7 *string omitempty
  hints 8 *discovery.EndpointHints omitempty
discovery.EndpointConditions
  ready 1 *bool omitempty
  serving 2 *bool omitempty
  terminating 3 *bool omitempty
discovery.EndpointHints
  forZones 1 []discovery.ForZone omitempty
discovery.EndpointPort
  name 1 *string omitempty
  protocol 2 *string omitempty
  port 3 *int32 omitempty
  appProtocol 4 *string omitempty
discovery.EndpointSlice
  kind 0 string omitempty
  apiVersion 0 string omitempty
  metadata 1 meta.ObjectMeta omitempty
  addressType 4 string
  endpoints 2 []discovery.Endpoint
  ports 3 []discovery.EndpointPort
discovery.ForZone
  name 1 string
meta.Condition
  type 1 string
  status 2 string
  observedGeneration 3 int64 omitempty
  lastTransitionTime 4 Time
  reason 5 string
  message 6 string
meta.DeleteOptions
  kind 0 string omitempty
  apiVersion 0 string omitempty
  gracePeriodSeconds 1 *int64 omitempty
  preconditions 2 *meta.Preconditions omitempty
  orphanDependents 3 *bool omitempty
  propagationPolicy 4 *string omitempty
  dryRun 5 []string omitempty
  ignoreStoreReadErrorWithClusterBreakingPotential 6 *bool omitempty
meta.LabelSelector
  matchLabels 1 map[string]string omitempty
  matchExpressions 2 []meta.LabelSelectorRequirement omitempty
meta.LabelSelectorRequirement
  key 1 string
  operator 2 string
  values 3 []string omitempty
meta.ManagedFieldsEntry
  manager 1 string omitempty
  operation 2 string omitempty
  apiVersion 3 string omitempty
  time 4 *Time omitempty
  fieldsType 6 string omitempty
  fieldsV1 7 *FieldsV1 omitempty
  subresource 8 string omitempty
meta.ObjectMeta
  name 1 string omitempty
  generateName 2 string omitempty
  namespace 3 string omitempty
  selfLink 4 string omitempty
  uid 5 string omitempty
  resourceVersion 6 string omitempty
  generation 7 int64 omitempty
  creationTimestamp 8 Time omitempty
  deletionTimestamp 9 *Time omitempty
  deletionGracePeriodSeconds 10 *int64 omitempty
  labels 11 map[string]string omitempty
  annotations 12 map[string]string omitempty
  ownerReferences 13 []meta.OwnerReference omitempty
  finalizers 14 []string omitempty
  managedFields 17 []meta.ManagedFieldsEntry omitempty
meta.OwnerReference
  apiVersion 5 string
  kind 1 string
  name 3 string
  uid 4 string
  controller 6 *bool omitempty
  blockOwnerDeletion 7 *bool omitempty
meta.Preconditions
  uid 1 *string omitempty
  resourceVersion 2 *string omitempty
`
