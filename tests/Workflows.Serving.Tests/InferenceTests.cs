using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Xunit;

namespace Workflows.Serving.Tests;

/// <summary>Answers over HTTP against each runtime's own scoring of the same artifact, and the answers to bad input.</summary>
public sealed class InferenceTests : IAsyncLifetime
{
    private static readonly byte[] Onnx = TestModels.LinearOnnx();
    private static readonly byte[] Zip = TestModels.FastTreeZip();
    private ServingHost _host = null!;

    public async Task InitializeAsync() => _host = await ServingHost.StartAsync(async registry =>
    {
        await TestModels.RegisterAsync(registry, "linear", "onnx", Onnx);
        await TestModels.RegisterAsync(registry, "forest", "mlnet", Zip);
    });

    public async Task DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task V2Infer_OnnxModel_EqualsOnnxRuntimeScoringOfTheArtifact()
    {
        const int Rows = 5;
        var data = TestModels.Rows(Rows);
        using var session = new InferenceSession(Onnx);
        using var results = session.Run([NamedOnnxValue.CreateFromTensor("features", new DenseTensor<float>(data, [Rows, TestModels.Features]))]);
        var expected = results.Single(r => r.Name == "probabilities").AsTensor<float>().ToArray();
        var expectedLabels = results.Single(r => r.Name == "label").AsTensor<long>().ToArray();

        var (response, body) = await _host.PostAsync("v2/models/linear/infer", ServingHost.V2Request(data, Rows, id: "req-1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("linear", (string)body["model_name"]!);
        Assert.Equal("1", (string)body["model_version"]!);
        Assert.Equal("req-1", (string)body["id"]!);
        Assert.Equal(expected, ServingHost.Floats(body, "probabilities"));
        Assert.Equal(expectedLabels, body["outputs"]![1]!["data"]!.AsArray().Select(v => (long)v!).ToArray());
        Assert.Equal([Rows, 1], body["outputs"]![0]!["shape"]!.AsArray().Select(v => (int)v!).ToArray());
        Assert.Equal("FP32", (string)body["outputs"]![0]!["datatype"]!);
        Assert.Equal("INT64", (string)body["outputs"]![1]!["datatype"]!);
    }

    [Fact]
    public async Task V2Infer_MlNetZip_EqualsMlNetScoringOfTheArtifact()
    {
        const int Rows = 6;
        var data = TestModels.Rows(Rows, seed: 11);
        var context = new MLContext(seed: 1);
        using var stream = new MemoryStream(Zip);
        var model = context.Model.Load(stream, out _);
        var rows = Enumerable.Range(0, Rows).Select(r => new TestModels.TrainRow { Features = data.AsSpan(r * TestModels.Features, TestModels.Features).ToArray() });
        var scored = model.Transform(context.Data.LoadFromEnumerable(rows));
        var expected = scored.GetColumn<float>("Probability").ToArray();
        var expectedLabels = scored.GetColumn<bool>("PredictedLabel").Select(b => b ? 1L : 0L).ToArray();

        var (response, body) = await _host.PostAsync("v2/models/forest/versions/1/infer", ServingHost.V2Request(data, Rows));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(expected, ServingHost.Floats(body, "probabilities"));
        Assert.Equal(expectedLabels, body["outputs"]![1]!["data"]!.AsArray().Select(v => (long)v!).ToArray());
        Assert.Equal(32, ((string)body["id"]!).Length); // generated when the request has none
    }

    [Fact]
    public async Task V2Infer_NestedDataAndOutputFilter_SameValuesAsFlat()
    {
        var data = TestModels.Rows(2);
        var flat = await _host.PostAsync("v2/models/linear/infer", ServingHost.V2Request(data, 2));
        var nested = ServingHost.V2Request(data, 2);
        nested["inputs"]![0]!["data"] = new JsonArray(
            new JsonArray(data.Take(4).Select(v => (JsonNode)JsonValue.Create(v)).ToArray()),
            new JsonArray(data.Skip(4).Select(v => (JsonNode)JsonValue.Create(v)).ToArray()));
        nested["outputs"] = new JsonArray(new JsonObject { ["name"] = "label" });

        var (response, body) = await _host.PostAsync("v2/models/linear/infer", nested);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var output = Assert.Single(body["outputs"]!.AsArray());
        Assert.Equal("label", (string)output!["name"]!);
        Assert.Equal(flat.Body["outputs"]![1]!["data"]!.ToJsonString(), output["data"]!.ToJsonString());
    }

    [Fact]
    public async Task V1Predict_GivesTheV2Probabilities()
    {
        var data = TestModels.Rows(3, seed: 5);
        var v2 = await _host.PostAsync("v2/models/linear/infer", ServingHost.V2Request(data, 3));
        var instances = new JsonArray(Enumerable.Range(0, 3)
            .Select(r => (JsonNode)new JsonArray(data.Skip(r * 4).Take(4).Select(v => (JsonNode)JsonValue.Create(v)).ToArray())).ToArray());

        var (response, body) = await _host.PostAsync("v1/models/linear:predict", new JsonObject { ["instances"] = instances });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(ServingHost.Floats(v2.Body, "probabilities"), body["predictions"]!.AsArray().Select(v => (float)v!).ToArray());
    }

    [Fact]
    public async Task MissingValues_NullAndNaNString_AreImputedByTheModel()
    {
        var request = ServingHost.V2Request([0f, 0f, 0f, 0f], 1);
        request["inputs"]![0]!["data"] = JsonNode.Parse("[null, \"NaN\", 0.5, 1]");

        var (response, body) = await _host.PostAsync("v2/models/linear/infer", request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(float.IsFinite(ServingHost.Floats(body, "probabilities")[0]));
    }

    [Fact]
    public async Task MetadataHealthAndReady_HaveTheV2Shapes()
    {
        var (metaResponse, meta) = await _host.GetAsync("v2/models/linear");
        var (versionResponse, version) = await _host.GetAsync("v2/models/linear/versions/1");
        var (readyResponse, ready) = await _host.GetAsync("v2/models/linear/versions/1/ready");
        var live = await _host.Client.GetAsync("v2/health/live");
        var serverReady = await _host.Client.GetAsync("v2/health/ready");
        var (reportResponse, report) = await _host.GetAsync("v2/models/forest/versions/1/report");

        Assert.Equal(HttpStatusCode.OK, metaResponse.StatusCode);
        Assert.Equal("onnxruntime_onnx", (string)meta["platform"]!);
        Assert.Equal("[\"1\"]", meta["versions"]!.ToJsonString());
        Assert.Equal("""[{"name":"features","datatype":"FP32","shape":[-1,4]}]""", meta["inputs"]!.ToJsonString());
        Assert.Equal("probabilities", (string)meta["outputs"]![0]!["name"]!);
        Assert.Equal(HttpStatusCode.OK, versionResponse.StatusCode);
        Assert.Equal("onnxruntime_onnx", (string)version["platform"]!);
        Assert.Equal(HttpStatusCode.OK, readyResponse.StatusCode);
        Assert.True((bool)ready["ready"]!);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, serverReady.StatusCode);
        Assert.Equal(HttpStatusCode.OK, reportResponse.StatusCode);
        var measured = report["versions"]![0]!["report"]!;
        Assert.Equal(Zip.Length, (long)measured["sizeBytes"]!);
        Assert.True((double)measured["singleRowMicroseconds"]! > 0);
        Assert.True((double)measured["batchRowsPerSecond"]! > 0);
    }

    [Theory]
    [InlineData("v2/models/nope/infer", HttpStatusCode.NotFound, "not served")]
    [InlineData("v2/models/linear/versions/9/infer", HttpStatusCode.NotFound, "no version '9'")]
    public async Task UnknownModelOrVersion_Is404ProblemJson(string path, HttpStatusCode status, string detail)
    {
        var (response, body) = await _host.PostAsync(path, ServingHost.V2Request(TestModels.Rows(1), 1));

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(detail, (string)body["detail"]!, StringComparison.Ordinal);
        Assert.Equal((string)body["detail"]!, (string)body["error"]!);
    }

    public static TheoryData<string, string> BadInputs => new()
    {
        { """{"inputs":[{"name":"features","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}""", "has 3 features" },
        { """{"inputs":[{"name":"features","shape":[1,4],"datatype":"INT64","data":[1,2,3,4]}]}""", "Datatype 'INT64'" },
        { """{"inputs":[{"name":"features","shape":[4],"datatype":"FP32","data":[1,2,3,4]}]}""", "is not [rows, features]" },
        { """{"inputs":[{"name":"features","shape":[2,4],"datatype":"FP32","data":[1,2,3,4]}]}""", "the data has 4" },
        { """{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1,"a",3,4]}]}""", "not a number" },
        { """{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1,true,3,4]}]}""", "not a number" },
        { """{"inputs":[{"name":"features","shape":[1,4],"datatype":"FP32","data":[1,1e300,3,4]}]}""", "float32 range" },
        { """{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]}""", "Unknown input 'x'" },
        { """{"inputs":[]}""", "no input" },
        { """{"inputs":[{"name":"features",""", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task BadInput_Is400NamingTheExpectedSchema(string json, string detail)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        var response = await _host.Client.PostAsync("v2/models/linear/infer", content);
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains(detail, (string)body["detail"]!, StringComparison.Ordinal);
        if (detail.Contains("features", StringComparison.Ordinal) || detail.Contains("Datatype", StringComparison.Ordinal))
        {
            Assert.Contains("Expected input 'features' with datatype FP32 or FP64 and shape [rows, 4]", (string)body["detail"]!, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task BodyOverTheLimit_Is413_AndTheServiceKeepsAnsweringAndCounting()
    {
        using var big = new StringContent("{\"inputs\":[" + new string(' ', 70_000) + "]}", Encoding.UTF8, "application/json");
        var tooLarge = await _host.Client.PostAsync("v2/models/linear/infer", big);
        using var bad = new StringContent("{\"inputs\":[]}", Encoding.UTF8, "application/json");
        await _host.Client.PostAsync("v2/models/linear/infer", bad);
        var (ok, _) = await _host.PostAsync("v2/models/linear/infer", ServingHost.V2Request(TestModels.Rows(1), 1));
        var metrics = await _host.Client.GetStringAsync("metrics");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Contains("workflows_serving_errors_total{model=\"linear\",reason=\"too_large\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("workflows_serving_errors_total{model=\"linear\",reason=\"bad_input\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("workflows_serving_requests_total{model=\"linear\",version=\"1\",protocol=\"v2\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("workflows_serving_request_duration_quantiles_seconds{model=\"linear\",version=\"1\",quantile=\"0.99\"}", metrics, StringComparison.Ordinal);
    }
}
